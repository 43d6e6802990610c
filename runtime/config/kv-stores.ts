// `[local_server.kv_stores]` (also spelled `object_stores` and `object_store`):
// the KV stores a service may open, and the entries each starts with.
//
//   [local_server.kv_stores]
//   store_one = [
//     { key = "first", data = "some data", metadata = "some metadata" },
//     { key = "second", file = "strings.json" },     # `path` is an accepted alias of `file`
//   ]
//   store_two = { file = "kv.json", format = "json" }  # key -> "string" | { data | file, metadata }
//   empty_store = []
//
// Relative file paths are resolved against the manifest's directory.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { keyProblem, MAX_METADATA_BYTES, MAX_VALUE_BYTES, storeNameProblem } from "../stores/kv-limits.ts";
import { checkKeys, ConfigError, describeValue, isTable, type Table } from "./config-error.ts";

/** One entry a store starts with. */
export interface KvSeed {
  key: string;
  value: Uint8Array;
  metadata: Uint8Array | null;
}

export interface KvStoreConfig {
  name: string;
  seeds: KvSeed[];
}

const SPELLINGS = ["kv_stores", "object_stores", "object_store"] as const;
const ENTRY_KEYS = ["key", "data", "file", "path", "metadata"];
const FILE_KEYS = ["file", "format"];
const encoder = new TextEncoder();

/** The KV stores `[local_server]` declares, under any of its spellings. */
export function parseKvStores(localServer: Table, where: string, dir: string): KvStoreConfig[] {
  const stores = new Map<string, KvStoreConfig>();
  for (const spelling of SPELLINGS) {
    const value = localServer[spelling];
    if (value === undefined) continue;
    const at = `${where}: [local_server.${spelling}]`;
    if (!isTable(value)) throw new ConfigError(`${at} must be a table of stores, got ${describeValue(value)}`);
    for (const [name, definition] of Object.entries(value)) {
      const store = `${where}: local_server.${spelling}.${name}`;
      const problem = storeNameProblem(name);
      if (problem) throw new ConfigError(`${store}: ${problem}`);
      if (stores.has(name)) throw new ConfigError(`${store}: the store "${name}" is defined twice (kv_stores, object_stores and object_store name the same stores)`);
      stores.set(name, { name, seeds: parseStore(definition, store, dir) });
    }
  }
  return [...stores.values()];
}

function parseStore(definition: unknown, where: string, dir: string): KvSeed[] {
  if (Array.isArray(definition)) {
    const seeds = definition.map((entry, index) => parseEntry(entry, `${where}[${index}]`, dir));
    return unique(seeds, where);
  }
  if (isTable(definition)) {
    checkKeys(definition, FILE_KEYS, where);
    if (definition.file === undefined || definition.format === undefined) {
      throw new ConfigError(
        `${where}: a store read from a file needs both file and format, as in { file = "kv.json", format = "json" }; ` +
          `or list its entries inline: [{ key = "k", data = "v" }]`,
      );
    }
    if (definition.format !== "json") throw new ConfigError(`${where}.format must be "json", got ${describeValue(definition.format)}`);
    if (typeof definition.file !== "string") throw new ConfigError(`${where}.file must be a path, got ${describeValue(definition.file)}`);
    return parseJsonFile(resolve(dir, definition.file), `${where}.file`, dir);
  }
  throw new ConfigError(
    `${where} must be an array of entries ([{ key = "k", data = "v" }], or [] for an empty store) or { file = "kv.json", format = "json" }, got ${describeValue(definition)}`,
  );
}

function parseEntry(entry: unknown, where: string, dir: string): KvSeed {
  if (!isTable(entry)) throw new ConfigError(`${where} must be a table such as { key = "k", data = "v" }, got ${describeValue(entry)}`);
  checkKeys(entry, ENTRY_KEYS, where);
  if (typeof entry.key !== "string") throw new ConfigError(`${where}.key must be a string, got ${entry.key === undefined ? "nothing" : describeValue(entry.key)}`);
  const key = entry.key;
  if (entry.file !== undefined && entry.path !== undefined) throw new ConfigError(`${where}: give file or path (an older name for file), not both`);
  return seed(key, { data: entry.data, file: entry.file ?? entry.path, metadata: entry.metadata }, `${where} (key "${key}")`, dir);
}

function seed(key: string, fields: { data: unknown; file: unknown; metadata: unknown }, where: string, dir: string): KvSeed {
  const problem = keyProblem(key);
  if (problem) throw new ConfigError(`${where}: ${problem}`);
  if (fields.data !== undefined && fields.file !== undefined) throw new ConfigError(`${where}: give data or file, not both`);
  let value: Uint8Array;
  if (fields.data !== undefined) {
    if (typeof fields.data !== "string") throw new ConfigError(`${where}: data must be a string, got ${describeValue(fields.data)}`);
    value = encoder.encode(fields.data);
  } else if (fields.file !== undefined) {
    if (typeof fields.file !== "string") throw new ConfigError(`${where}: file must be a path, got ${describeValue(fields.file)}`);
    value = readSeedFile(resolve(dir, fields.file), where);
  } else {
    throw new ConfigError(`${where}: give the value as data = "..." or file = "path"`);
  }
  if (value.byteLength > MAX_VALUE_BYTES) throw new ConfigError(`${where}: the value is ${value.byteLength} bytes; a KV value is at most ${MAX_VALUE_BYTES}`);
  let metadata: Uint8Array | null = null;
  if (fields.metadata !== undefined) {
    if (typeof fields.metadata !== "string") throw new ConfigError(`${where}: metadata must be a string, got ${describeValue(fields.metadata)}`);
    metadata = encoder.encode(fields.metadata);
    if (metadata.byteLength > MAX_METADATA_BYTES) throw new ConfigError(`${where}: metadata is at most ${MAX_METADATA_BYTES} bytes`);
  }
  return { key, value, metadata };
}

function parseJsonFile(path: string, where: string, dir: string): KvSeed[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigError(`${where}: ${path}: no such file`);
    if (error instanceof SyntaxError) throw new ConfigError(`${where}: ${path} is not valid JSON: ${error.message}`);
    throw new ConfigError(`${where}: cannot read ${path}: ${(error as Error).message}`);
  }
  if (!isTable(parsed)) throw new ConfigError(`${where}: ${path} must hold a JSON object of key -> "value" or { "data": "...", "metadata": "..." }`);
  return Object.entries(parsed).map(([key, entry]) => {
    const at = `${path}: key "${key}"`;
    if (typeof entry === "string") return seed(key, { data: entry, file: undefined, metadata: undefined }, at, dir);
    if (!isTable(entry)) throw new ConfigError(`${at} must be a string or { "data" | "file", "metadata" }, got ${JSON.stringify(entry)}`);
    checkKeys(entry, ["data", "file", "metadata"], at);
    return seed(key, { data: entry.data, file: entry.file, metadata: entry.metadata }, at, dir);
  });
}

function readSeedFile(path: string, where: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(code === "ENOENT" ? `${where}: ${path}: no such file` : `${where}: cannot read ${path}: ${(error as Error).message}`);
  }
}

function unique(seeds: KvSeed[], where: string): KvSeed[] {
  const seen = new Set<string>();
  for (const { key } of seeds) {
    if (seen.has(key)) throw new ConfigError(`${where}: the key "${key}" is listed twice`);
    seen.add(key);
  }
  return seeds;
}
