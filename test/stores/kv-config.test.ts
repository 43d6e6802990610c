// `[local_server.kv_stores]` as fastly.toml declares it: inline entries, files,
// JSON stores, the older spellings, and errors that name the place and the fix.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../runtime/config/config-error.ts";
import { parseKvStores } from "../../runtime/config/kv-stores.ts";
import { parseManifest } from "../../runtime/config/manifest.ts";

const dir = mkdtempSync(join(tmpdir(), "outpost-kv-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stores(toml: string) {
  const manifest = parseManifest(toml, join(dir, "fastly.toml"), dir);
  return parseKvStores(manifest.localServer, manifest.path!, dir);
}
const text = (value: Uint8Array | null) => (value === null ? null : Buffer.from(value).toString("utf8"));

describe("kv_stores", () => {
  it("reads inline entries, files (relative to fastly.toml, `path` as an alias) and empty stores", () => {
    writeFileSync(join(dir, "value.bin"), Buffer.from([0, 1, 2, 255]));
    const parsed = stores(`
      [local_server.kv_stores]
      one = [
        { key = "first", data = "some data", metadata = "some metadata" },
        { key = "second", file = "value.bin" },
        { key = "third", path = "value.bin" },
      ]
      empty = []
    `);
    expect(parsed.map((store) => store.name)).toEqual(["one", "empty"]);
    const [first, second, third] = parsed[0].seeds;
    expect([first.key, text(first.value), text(first.metadata)]).toEqual(["first", "some data", "some metadata"]);
    expect([...second.value]).toEqual([0, 1, 2, 255]);
    expect(second.metadata).toBeNull();
    expect([...third.value]).toEqual([0, 1, 2, 255]);
    expect(parsed[1].seeds).toEqual([]);
  });

  it("reads a JSON store: key -> string or { data | file, metadata }", () => {
    writeFileSync(join(dir, "kv.json"), JSON.stringify({ a: "alpha", b: { data: "beta", metadata: "mb" }, c: { file: "value.bin" } }));
    const [store] = stores(`[local_server.kv_stores]\njson = { file = "kv.json", format = "json" }\n`);
    expect(store.seeds.map((seed) => [seed.key, seed.value.byteLength, text(seed.metadata)])).toEqual([
      ["a", 5, null],
      ["b", 4, "mb"],
      ["c", 4, null],
    ]);
  });

  it("accepts the older spellings object_stores and object_store, but not the same store twice", () => {
    expect(stores(`[local_server.object_stores]\na = []\n[local_server.object_store]\nb = []\n`).map((store) => store.name)).toEqual(["a", "b"]);
    expect(() => stores(`[local_server.kv_stores]\na = []\n[local_server.object_stores]\na = []\n`)).toThrow(/defined twice/);
  });

  it.each([
    [`one = [{ key = "k" }]`, /local_server\.kv_stores\.one\[0\] \(key "k"\): give the value as data = "\.\.\." or file = "path"/],
    [`one = [{ key = "k", data = "v", file = "f" }]`, /give data or file, not both/],
    [`one = [{ key = "k", dta = "v" }]`, /unknown key "dta" \(did you mean "data"\?\)/],
    [`one = [{ data = "v" }]`, /\.key must be a string, got nothing/],
    [`one = [{ key = "a#b", data = "v" }]`, /a key cannot contain "#"/],
    [`one = [{ key = ".well-known/acme-challenge/x", data = "v" }]`, /cannot start with ".well-known\/acme-challenge\/"/],
    [`one = [{ key = "k", data = "v" }, { key = "k", data = "w" }]`, /the key "k" is listed twice/],
    [`one = [{ key = "k", file = "missing.bin" }]`, /missing\.bin: no such file/],
    [`one = [{ key = "k", data = "v", metadata = 3 }]`, /metadata must be a string/],
    [`one = { file = "kv.json" }`, /needs both file and format/],
    [`one = { file = "kv.json", format = "yaml" }`, /format must be "json"/],
    [`one = "nope"`, /must be an array of entries/],
  ])("rejects %s", (entry, message) => {
    const attempt = () => stores(`[local_server.kv_stores]\n${entry}\n`);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
  });

  it("names the JSON file and key in errors about a JSON store", () => {
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ k: 42 }));
    expect(() => stores(`[local_server.kv_stores]\nj = { file = "bad.json", format = "json" }\n`)).toThrow(/bad\.json: key "k" must be a string or/);
    writeFileSync(join(dir, "broken.json"), "{");
    expect(() => stores(`[local_server.kv_stores]\nj = { file = "broken.json", format = "json" }\n`)).toThrow(/broken\.json is not valid JSON/);
  });
});
