// `[local_server.geolocation]`: what `fastly_geo::lookup` answers for which
// address, read as the reference emulator reads it.
//
//   [local_server.geolocation]
//   use_default_loopback = true     # built-in data for 127.0.0.1 and ::1 (default)
//   format = "inline-toml"          # or format = "json", file = "geo.json"
//   [local_server.geolocation.addresses."203.0.113.7"]
//   country_code = "DE"
import { canonicalIp, DEFAULT_GEOLOCATION, type GeolocationData } from "../stores/geolocation.ts";
import { ConfigError, expectTable, optionalBoolean } from "./config-error.ts";
import { readLookupTable } from "./lookup-table.ts";
import type { Manifest } from "./manifest.ts";

export function parseGeolocation(manifest: Manifest, warn: (message: string) => void): GeolocationData {
  const value = manifest.localServer.geolocation;
  const file = manifest.path ?? "fastly.toml";
  const dir = manifest.dir;
  if (value === undefined) return DEFAULT_GEOLOCATION;
  const where = `${file}: local_server.geolocation`;
  const section = expectTable(value, `${file}: [local_server.geolocation]`);
  const useDefaultLoopback = optionalBoolean(section.use_default_loopback, `${where}.use_default_loopback`) ?? true;
  const entries = readLookupTable(section, {
    where,
    inlineKey: "addresses",
    otherKeys: ["use_default_loopback"],
    nested: false,
    dir,
    warn,
  });
  const addresses = new Map<string, string>();
  for (const [address, json] of entries) {
    const ip = canonicalIp(address);
    if (ip === null) throw new ConfigError(`${where}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
    addresses.set(ip, json);
  }
  return { addresses, loopback: useDefaultLoopback ? DEFAULT_GEOLOCATION.loopback : null };
}
