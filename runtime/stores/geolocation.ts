// Geolocation data guests read with `fastly_geo::lookup`: the JSON object
// the platform reports for an address, by address. Built from
// `[local_server.geolocation]` (runtime/config/geolocation.ts) and read in
// place by the workers (part of the service data).
import { isIPv4, isIPv6 } from "node:net";

export interface GeolocationData {
  /** Canonical address text (see `canonicalIp`) → the JSON object text a lookup answers. */
  addresses: Map<string, string>;
  /** The answer for loopback addresses the table does not list, or null for none. */
  loopback: string | null;
}

/**
 * What the reference emulator reports for 127.0.0.1 and ::1 unless told not
 * to (`use_default_loopback = false`): Fastly's San Francisco office.
 */
export const LOOPBACK_GEOLOCATION = {
  as_name: "Fastly, Inc",
  as_number: 54113,
  area_code: 415,
  city: "San Francisco",
  conn_speed: "broadband",
  conn_type: "wired",
  continent: "NA",
  country_code: "US",
  country_code3: "USA",
  country_name: "United States of America",
  latitude: 37.77869,
  longitude: -122.39557,
  metro_code: 0,
  postal_code: "94107",
  proxy_description: "?",
  proxy_type: "?",
  region: "CA",
  utc_offset: -700,
};

/** No table, loopback answered: what a service without `[local_server.geolocation]` gets. */
export const DEFAULT_GEOLOCATION: GeolocationData = {
  addresses: new Map(),
  loopback: JSON.stringify(LOOPBACK_GEOLOCATION),
};

/**
 * One spelling per address: IPv4 dotted quads, IPv6 in its shortest form,
 * and IPv4-mapped IPv6 addresses as the IPv4 address they carry. Null for
 * text that is not an address.
 */
export function canonicalIp(text: string): string | null {
  if (isIPv4(text)) return text.split(".").map(Number).join(".");
  if (!isIPv6(text)) return null;
  // The URL parser writes IPv6 hosts in their canonical compressed form (RFC 5952).
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const high = parseInt(mapped[1], 16);
  const low = parseInt(mapped[2], 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

/** The address in 4 or 16 octets, as `canonicalIp` spells it; null for another length. */
export function ipFromOctets(octets: Uint8Array): string | null {
  if (octets.byteLength === 4) return octets.join(".");
  if (octets.byteLength !== 16) return null;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((octets[i] << 8) | octets[i + 1]).toString(16));
  return canonicalIp(groups.join(":"));
}

function isLoopback(ip: string): boolean {
  return ip === "::1" || (isIPv4(ip) && ip.startsWith("127."));
}

/** The JSON object text for an address, or null when there is none. */
export function lookupGeolocation(data: GeolocationData, octets: Uint8Array): string | null {
  const ip = ipFromOctets(octets);
  if (ip === null) return null;
  return data.addresses.get(ip) ?? (isLoopback(ip) ? data.loopback : null);
}
