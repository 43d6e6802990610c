// `[local_server.config_stores.<name>]` (also spelled `dictionaries`): the
// read-only string maps guests open with `fastly_config_store` and
// `fastly_dictionary`. Each store is inline (`format = "inline-toml"` with a
// `contents` table) or a JSON file (`format = "json"`, `file = "x.json"`)
// that a running server reloads when it changes (runtime/stores/config-watch.ts).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { checkKeys, ConfigError, describeValue, expectTable, isTable, suggest, type Table } from "./config-error.ts";

// The platform's limits (https://www.fastly.com/documentation/reference/api/services/resources/config-store-item/):
// keys up to 256 characters, values up to 8000.
export const MAX_KEY_CHARS = 256;
export const MAX_VALUE_CHARS = 8000;
/** Entries per store an account gets by default (https://docs.fastly.com/en/guides/working-with-config-stores). */
export const DEFAULT_MAX_ITEMS = 500;

const FORMATS = ["inline-toml", "json"];
const STORE_KEYS = ["format", "contents", "file"];

export interface ConfigStoreDefinition {
  name: string;
  /** How messages name the store: `fastly.toml: local_server.config_stores.NAME`. */
  where: string;
  /** The JSON file the contents come from (absolute), or null for an inline store. */
  file: string | null;
  contents: Record<string, string>;
}

export interface ConfigStores {
  stores: ConfigStoreDefinition[];
  /** Limits a deploy may hit but a local server need not enforce. */
  warnings: string[];
}

/** What `parseConfigStores` reads of the manifest. */
export interface StoreManifest {
  path: string | null;
  dir: string;
  localServer: Table;
}

/** Reads and checks every config store of the manifest, JSON files included. */
export function parseConfigStores(manifest: StoreManifest): ConfigStores {
  const file = manifest.path ?? "fastly.toml";
  const stores: ConfigStoreDefinition[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  // `dictionaries` is the older name of the same table.
  for (const table of ["config_stores", "dictionaries"]) {
    const value = manifest.localServer[table];
    if (value === undefined) continue;
    for (const [name, entry] of Object.entries(expectTable(value, `${file}: [local_server.${table}]`))) {
      const where = `${file}: local_server.${table}.${tomlKey(name)}`;
      if (!name) throw new ConfigError(`${file}: [local_server.${table}] has a store with an empty name`);
      const earlier = seen.get(name);
      if (earlier) throw new ConfigError(`${where}: a store named "${name}" is already defined as ${earlier}; give one of them another name`);
      seen.set(name, `local_server.${table}.${tomlKey(name)}`);
      const store = parseStore(name, entry, where, manifest.dir);
      warnings.push(...itemWarnings(store));
      stores.push(store);
    }
  }
  return { stores, warnings };
}

/** Every store's contents by name: the `configStores` of the service data. */
export function configStoreData(stores: readonly ConfigStoreDefinition[]): Record<string, Record<string, string>> {
  return Object.fromEntries(stores.map((store) => [store.name, store.contents]));
}

/**
 * Reads a JSON store's file again: its new contents, checked as at start-up
 * (a ConfigError says what is wrong).
 */
export function reloadConfigStore(store: ConfigStoreDefinition): { contents: Record<string, string>; warnings: string[] } {
  if (store.file === null) throw new Error(`config store ${store.name} has no file`);
  const contents = readJsonStore(store.file, store.file, store.where);
  return { contents, warnings: itemWarnings({ ...store, contents }) };
}

function parseStore(name: string, value: unknown, where: string, dir: string): ConfigStoreDefinition {
  const table = expectTable(value, where);
  checkKeys(table, STORE_KEYS, where);
  const format = table.format;
  if (format === undefined) {
    const fix =
      table.file !== undefined ? `add format = "json"` : table.contents !== undefined ? `add format = "inline-toml"` : FORMAT_HELP;
    throw new ConfigError(`${where}: missing "format" (${fix})`);
  }
  if (typeof format !== "string" || !FORMATS.includes(format)) {
    const hint = typeof format === "string" ? suggest(format, FORMATS) : ` (expected one of: ${FORMATS.join(", ")})`;
    throw new ConfigError(`${where}.format: unknown format ${describeValue(format)}${hint}`);
  }
  if (format === "inline-toml") {
    if (table.file !== undefined) throw new ConfigError(`${where}: "file" is read only with format = "json"; put the entries in a contents table`);
    if (table.contents === undefined) throw new ConfigError(`${where}: missing "contents" (a table of key = "value" entries)`);
    const contents = expectTable(table.contents, `${where}.contents`);
    const entries = Object.entries(contents).map(([key, item]): [string, string] => {
      if (typeof item !== "string") {
        const hint = typeof item === "number" || typeof item === "boolean" ? ` (quote it: "${item}")` : "";
        throw new ConfigError(`${where}.contents.${tomlKey(key)} must be a string, got ${describeValue(item)}${hint}`);
      }
      return [key, item];
    });
    const store = { name, where, file: null, contents: Object.fromEntries(entries) };
    checkLimits(store.contents, (key) => `${where}.contents.${tomlKey(key)}`);
    return store;
  }
  if (table.contents !== undefined) throw new ConfigError(`${where}: "contents" is read only with format = "inline-toml"; with format = "json" give file = "store.json"`);
  if (typeof table.file !== "string" || !table.file) {
    const got = table.file === undefined ? "missing" : `got ${describeValue(table.file)}`;
    throw new ConfigError(`${where}.file: expected the path of a JSON file (for example file = "${name}.json"), ${got}`);
  }
  const file = resolve(dir, table.file);
  return { name, where, file, contents: readJsonStore(file, table.file, where) };
}

const FORMAT_HELP = `format = "inline-toml" with a contents table, or format = "json" with file = "store.json"`;

/** A JSON object of string values, checked against the platform's limits. */
function readJsonStore(file: string, shown: string, where: string): Record<string, string> {
  const at = `${where}: ${shown}${shown === file ? "" : ` (${file})`}`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file; relative paths start at the directory of fastly.toml" : (error as Error).message;
    throw new ConfigError(`${at}: cannot read it: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${at}: not valid JSON: ${(error as Error).message}`);
  }
  if (!isTable(json)) throw new ConfigError(`${at}: expected a JSON object of "key": "value" entries, got ${jsonKind(json)}`);
  for (const [key, value] of Object.entries(json)) {
    if (typeof value !== "string") throw new ConfigError(`${at}: the value of "${key}" must be a string, got ${jsonKind(value)}`);
  }
  const contents = json as Record<string, string>;
  checkLimits(contents, (key) => `${at}: key "${key}"`);
  return contents;
}

function checkLimits(contents: Record<string, string>, name: (key: string) => string): void {
  for (const [key, value] of Object.entries(contents)) {
    if (!key) throw new ConfigError(`${name(key)}: keys must not be empty`);
    const keyChars = [...key].length;
    if (keyChars > MAX_KEY_CHARS) {
      throw new ConfigError(`${name(key.slice(0, 40) + "...")}: the key is ${keyChars} characters long; config store keys are limited to ${MAX_KEY_CHARS}`);
    }
    const valueChars = [...value].length;
    if (valueChars > MAX_VALUE_CHARS) {
      throw new ConfigError(`${name(key)}: the value is ${valueChars} characters long; config store values are limited to ${MAX_VALUE_CHARS}`);
    }
  }
}

function itemWarnings(store: ConfigStoreDefinition): string[] {
  const count = Object.keys(store.contents).length;
  if (count <= DEFAULT_MAX_ITEMS) return [];
  return [`${store.where}: ${count} entries; Fastly allows ${DEFAULT_MAX_ITEMS} per config store unless your account's limit was raised`];
}

function jsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

/** A key as TOML would write it in a dotted path: bare when it can be. */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}
