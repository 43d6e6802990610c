// The client: its address and where it is.
import * as geo from "./abi/geo";
import * as req from "./abi/http_req";
import { getString6, OUT } from "./io";
import { check, Status } from "./status";

const geoLookup = (_h: u32, addr: usize, len: u32, buf: usize, max: u32, nw: usize): u32 => geo.lookup(addr, len, buf, max, nw);

/** The geolocation of an IP address (4 or 16 octets) as the host's JSON object text, or null when unknown. */
export function geolocation(address: Uint8Array): string | null {
  return getString6(geoLookup, 0, address.dataStart, <u32>address.byteLength, Status.NONE, "geolocation lookup");
}

/** Formats 4 octets as `a.b.c.d` and 16 as RFC 5952 IPv6 text (`::1`, `2001:db8::7`). */
export function formatAddress(octets: Uint8Array): string {
  if (octets.length == 4) {
    return octets[0].toString() + "." + octets[1].toString() + "." + octets[2].toString() + "." + octets[3].toString();
  }
  if (octets.length != 16) return "";
  const groups = new StaticArray<u32>(8);
  for (let i = 0; i < 8; i++) groups[i] = (<u32>octets[2 * i] << 8) | octets[2 * i + 1];
  // The longest run of two or more zero groups becomes `::` (the first, on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] != 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] == 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i == bestStart) {
      out += "::";
      i += bestLength - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += groups[i].toString(16);
  }
  return out;
}

/** The client that sent the request. */
export class Client {
  /** The client's IP address: 4 octets (IPv4) or 16 (IPv6). */
  static addressBytes(): Uint8Array {
    const octets = new Uint8Array(16);
    // The form without a request handle: it still answers after the client request was sent on.
    check(req.downstream_client_ip_addr(octets.dataStart, OUT), "client address");
    return octets.subarray(0, <i32>load<u32>(OUT));
  }

  /** The client's IP address as text (`203.0.113.7`, `2001:db8::1`). */
  static address(): string {
    return formatAddress(Client.addressBytes());
  }

  /** Where the client is, as the host's geolocation JSON (`{"city": ..., "country_code": ...}`), or null. */
  static geolocation(): string | null {
    return geolocation(Client.addressBytes());
  }
}
