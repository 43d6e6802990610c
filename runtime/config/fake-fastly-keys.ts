// `[local_server] fake_valid_fastly_keys = ["..."]`: Fastly API keys that
// `fastly_key_is_valid` accepts in a request's `Fastly-Key` field, as the
// reference emulator reads them (no key is valid without the list).
import { ConfigError, describeValue } from "./config-error.ts";
import type { StoreManifest } from "./config-stores.ts";

export function parseFakeFastlyKeys(manifest: StoreManifest): string[] {
  const value = manifest.localServer.fake_valid_fastly_keys;
  const where = `${manifest.path ?? "fastly.toml"}: local_server.fake_valid_fastly_keys`;
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((key) => typeof key === "string" && key !== "")) {
    throw new ConfigError(`${where}: expected an array of keys (["key-1", "key-2"]), got ${describeValue(value)}`);
  }
  return value;
}
