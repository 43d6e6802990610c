// `[local_server.shielding_sites]`: the shield POPs a guest may name with
// `fastly_shielding`, as the reference emulator reads them:
//
//   [local_server.shielding_sites]
//   local-pop = "local"                  # this server is that shield
//   other-pop = { unencrypted = "http://127.0.0.1:8081", encrypted = "https://127.0.0.1:8443" }
//
// A shield that is not "local" is reached at one of its two URLs (plain or
// TLS); the guest asks for a backend to it (`backend_for_shield`).
import type { ShieldingSites } from "../stores/shielding.ts";
import { checkKeys, ConfigError, describeValue, isTable } from "./config-error.ts";
import { type StoreManifest, tomlKey } from "./config-stores.ts";

const EXAMPLE = `{ unencrypted = "http://127.0.0.1:8081", encrypted = "https://127.0.0.1:8443" }`;

export function parseShieldingSites(manifest: StoreManifest): ShieldingSites {
  const value = manifest.localServer.shielding_sites;
  const file = manifest.path ?? "fastly.toml";
  if (value === undefined) return {};
  if (!isTable(value)) throw new ConfigError(`${file}: [local_server.shielding_sites] must be a table of shields, got ${describeValue(value)}`);
  const sites: ShieldingSites = {};
  for (const [name, definition] of Object.entries(value)) {
    const where = `${file}: local_server.shielding_sites.${tomlKey(name)}`;
    if (typeof definition === "string") {
      if (definition.toLowerCase() !== "local") throw new ConfigError(`${where}: a shield is "local" or ${EXAMPLE}, got ${describeValue(definition)}`);
      sites[name] = { runningOn: true, unencrypted: "", encrypted: "" };
      continue;
    }
    if (!isTable(definition)) throw new ConfigError(`${where}: a shield is "local" or ${EXAMPLE}, got ${describeValue(definition)}`);
    checkKeys(definition, ["unencrypted", "encrypted"], where);
    sites[name] = { runningOn: false, unencrypted: shieldUrl(definition.unencrypted, `${where}.unencrypted`, "http:"), encrypted: shieldUrl(definition.encrypted, `${where}.encrypted`, "https:") };
  }
  return sites;
}

function shieldUrl(value: unknown, where: string, scheme: "http:" | "https:"): string {
  if (value === undefined) throw new ConfigError(`${where}: missing (a shield that is not "local" needs both URLs: ${EXAMPLE})`);
  if (typeof value !== "string") throw new ConfigError(`${where}: expected a URL, got ${describeValue(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${where}: ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== scheme) throw new ConfigError(`${where}: expected a ${scheme.slice(0, -1)} URL, got ${JSON.stringify(value)}`);
  return value;
}
