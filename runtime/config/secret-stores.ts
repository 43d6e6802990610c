// `[local_server.secret_stores]`: per store, an array of `{ key, data | file
// | env }` or `{ file = "secrets.json", format = "json" }` (a JSON object of
// name -> secret). Secret values never appear in a message: errors name the
// store, the secret and the file or variable, and say what is wrong with the
// value without quoting it.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { checkKeys, ConfigError, describeValue, isTable, type Table } from "./config-error.ts";
import { type StoreManifest, tomlKey } from "./config-stores.ts";

/** The platform's largest secret (https://docs.fastly.com/en/guides/working-with-secret-stores). */
export const MAX_SECRET_BYTES = 64 * 1024;
/** Store and secret names: letters, digits, `-`, `_` and `.`, at most 255 of them. */
const NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const ITEM_KEYS = ["key", "data", "file", "env"];
const SHAPE = `an array of { key = "name", data | file | env = "..." } entries, or { file = "secrets.json", format = "json" }`;

/** Secret store name -> secret name -> plaintext. */
export type SecretStoresData = Record<string, Record<string, Uint8Array>>;

/** Reads every secret store of the manifest; `env` entries read `environment`. */
export function parseSecretStores(manifest: StoreManifest, environment: NodeJS.ProcessEnv = process.env): SecretStoresData {
  const value = manifest.localServer.secret_stores;
  const file = manifest.path ?? "fastly.toml";
  if (value === undefined) return {};
  if (!isTable(value)) throw new ConfigError(`${file}: [local_server.secret_stores] must be a table of stores, got ${describeValue(value)}`);
  const stores: SecretStoresData = {};
  for (const [name, entry] of Object.entries(value)) {
    const where = `${file}: local_server.secret_stores.${tomlKey(name)}`;
    if (!NAME.test(name)) throw new ConfigError(`${where}: ${nameProblem("store", name)}`);
    const secrets = Array.isArray(entry)
      ? inlineSecrets(entry, where, manifest.dir, environment)
      : isTable(entry)
        ? jsonSecrets(entry, where, manifest.dir)
        : null;
    if (!secrets) throw new ConfigError(`${where} must be ${SHAPE}`);
    stores[name] = Object.fromEntries(secrets);
  }
  return stores;
}

function inlineSecrets(items: unknown[], where: string, dir: string, environment: NodeJS.ProcessEnv): Map<string, Uint8Array> {
  const secrets = new Map<string, Uint8Array>();
  items.forEach((item, index) => {
    const at = `${where}[${index}]`;
    if (!isTable(item)) throw new ConfigError(`${at} must be a table such as { key = "api-key", env = "API_KEY" }`);
    checkKeys(item, ITEM_KEYS, at);
    if (typeof item.key !== "string") {
      throw new ConfigError(`${at}: ${item.key === undefined ? `missing "key"` : `"key" must be a string`} (the secret's name)`);
    }
    const key = item.key;
    if (!NAME.test(key)) throw new ConfigError(`${at}: ${nameProblem("secret", key)}`);
    if (secrets.has(key)) throw new ConfigError(`${at}: secret "${key}" is defined twice`);
    const named = `${at} (secret "${key}")`;
    const sources = ["data", "file", "env"].filter((source) => item[source] !== undefined);
    if (sources.length !== 1) {
      const problem = sources.length === 0 ? "needs its value" : `has ${sources.join(" and ")}`;
      throw new ConfigError(`${named} ${problem}: give exactly one of data = "...", file = "path" or env = "VARIABLE"`);
    }
    const source = sources[0];
    // Never describe a value here: it may be the secret.
    if (typeof item[source] !== "string") throw new ConfigError(`${named}: "${source}" must be a string`);
    const text = item[source] as string;
    let secret: Uint8Array;
    if (source === "data") {
      secret = Buffer.from(text, "utf8");
    } else if (source === "file") {
      secret = readSecretFile(text, `${named}.file`, dir);
    } else {
      const fromEnv = environment[text];
      if (fromEnv === undefined) {
        throw new ConfigError(`${named}: the environment variable ${text} is not set; set it before starting the server, or use data or file`);
      }
      secret = Buffer.from(fromEnv, "utf8");
    }
    secrets.set(key, checkSize(secret, named));
  });
  return secrets;
}

function jsonSecrets(table: Table, where: string, dir: string): Map<string, Uint8Array> {
  checkKeys(table, ["file", "format"], where);
  if (typeof table.file !== "string" || !table.file) throw new ConfigError(`${where}: expected file = "secrets.json" with format = "json", or ${SHAPE}`);
  if (table.format === undefined) throw new ConfigError(`${where}: missing "format" (add format = "json")`);
  if (table.format !== "json") throw new ConfigError(`${where}.format: unknown format ${describeValue(table.format)} (the only format is "json")`);
  const at = `${where}.file`;
  const text = Buffer.from(readSecretFile(table.file, at, dir)).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // The parser's message quotes the text around the mistake: only its position is kept.
    const position = /\(line \d+ column \d+\)/.exec((error as Error).message)?.[0];
    throw new ConfigError(`${at}: "${table.file}" is not valid JSON${position ? ` ${position}` : ""}`);
  }
  if (!isTable(json)) throw new ConfigError(`${at}: "${table.file}" must hold a JSON object of "name": "secret" entries`);
  const secrets = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(json)) {
    const named = `${at}: secret "${key}"`;
    if (!NAME.test(key)) throw new ConfigError(`${at}: ${nameProblem("secret", key)}`);
    if (typeof value !== "string") throw new ConfigError(`${named} must be a string`);
    secrets.set(key, checkSize(Buffer.from(value, "utf8"), named));
  }
  return secrets;
}

function readSecretFile(path: string, where: string, dir: string): Uint8Array {
  const full = resolve(dir, path);
  try {
    return readFileSync(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file; relative paths start at the directory of fastly.toml" : (code ?? "unreadable");
    throw new ConfigError(`${where}: cannot read "${path}" (${full}): ${reason}`);
  }
}

function checkSize(secret: Uint8Array, where: string): Uint8Array {
  if (secret.byteLength > MAX_SECRET_BYTES) {
    throw new ConfigError(`${where} is ${secret.byteLength} bytes; secrets are limited to ${MAX_SECRET_BYTES} bytes (64 KiB)`);
  }
  // A plain Uint8Array (not a Buffer view into a shared pool) crosses to the workers whole and alone.
  return Uint8Array.from(secret);
}

function nameProblem(kind: "store" | "secret", name: string): string {
  const problem = !name ? "is empty" : name.length > 255 ? `is ${name.length} characters long` : `"${name}" has characters other than letters, digits, "-", "_" and "."`;
  return `the ${kind} name ${problem}; ${kind} names are 1 to 255 letters, digits, "-", "_" or "."`;
}
