// The shape `[local_server.geolocation]` and `[local_server.device_detection]`
// share: `format = "inline-toml"` with a table of entries under one key, or
// `format = "json"` with a file holding a JSON object of entries. Each entry
// is an object the guest receives as JSON text.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, describeValue, isTable, optionalString, type Table } from "./config-error.ts";

export interface LookupTableOptions {
  /** `[local_server.<section>]`, for messages. */
  where: string;
  /** The key holding inline entries ("addresses", "user_agents"). */
  inlineKey: string;
  /** Keys the section may have besides format, file and the inline key. */
  otherKeys: readonly string[];
  /** Nested tables are allowed in inline entries (device detection's `device = { ... }`). */
  nested: boolean;
  /** Directory relative file paths start at. */
  dir: string;
  warn(message: string): void;
}

/** The entries, keyed as written, each as JSON text; empty when the section has no format. */
export function readLookupTable(section: Table, options: LookupTableOptions): Map<string, string> {
  const { where, inlineKey } = options;
  const known = ["format", "file", inlineKey, ...options.otherKeys];
  for (const key of Object.keys(section)) {
    if (!known.includes(key)) options.warn(`${where}: unknown key "${key}" ignored (expected one of: ${known.join(", ")})`);
  }
  const format = optionalString(section.format, `${where}.format`);
  if (format === null) {
    if (section[inlineKey] !== undefined || section.file !== undefined) {
      options.warn(`${where}: no format given, so its entries are ignored; add format = "inline-toml" or format = "json"`);
    }
    return new Map();
  }
  if (format === "inline-toml") return inlineEntries(section[inlineKey], `${where}.${inlineKey}`, options.nested);
  if (format === "json") return jsonEntries(section.file, where, options.dir);
  throw new ConfigError(`${where}.format must be "inline-toml" or "json", got ${describeValue(format)}`);
}

function inlineEntries(value: unknown, where: string, nested: boolean): Map<string, string> {
  if (value === undefined) throw new ConfigError(`${where} is missing: format = "inline-toml" takes its entries from it`);
  if (!isTable(value)) throw new ConfigError(`${where} must be a table, got ${describeValue(value)}`);
  const entries = new Map<string, string>();
  for (const [key, entry] of Object.entries(value)) {
    const entryWhere = `${where}.${JSON.stringify(key)}`;
    if (!isTable(entry)) throw new ConfigError(`${entryWhere} must be a table of fields, got ${describeValue(entry)}`);
    entries.set(key, JSON.stringify(tomlToJson(entry, entryWhere, nested)));
  }
  return entries;
}

/** Strings, numbers and booleans (and, when `nested`, tables of them) as JSON values. */
function tomlToJson(table: Table, where: string, nested: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(table)) {
    const fieldWhere = `${where}.${field}`;
    if (typeof value === "string" || typeof value === "boolean") out[field] = value;
    else if (typeof value === "number" && Number.isFinite(value)) out[field] = value;
    else if (typeof value === "bigint") out[field] = Number(value);
    else if (nested && isTable(value)) out[field] = tomlToJson(value, fieldWhere, nested);
    else {
      const allowed = nested ? "a string, number, boolean or table" : "a string, number or boolean";
      throw new ConfigError(`${fieldWhere} must be ${allowed}, got ${describeValue(value)}`);
    }
  }
  return out;
}

function jsonEntries(file: unknown, where: string, dir: string): Map<string, string> {
  const path = optionalString(file, `${where}.file`);
  if (!path) throw new ConfigError(`${where}: format = "json" needs file = "<path to a JSON object>"`);
  const full = resolve(dir, path);
  let text: string;
  try {
    text = readFileSync(full, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new ConfigError(`${where}.file: cannot read "${path}" (${full}): ${reason}; relative paths start at the directory of fastly.toml`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${where}.file: "${path}" is not valid JSON: ${(error as Error).message}`);
  }
  if (!isTable(json)) throw new ConfigError(`${where}.file: "${path}" must hold a JSON object of entries`);
  const entries = new Map<string, string>();
  for (const [key, entry] of Object.entries(json)) {
    if (!isTable(entry)) throw new ConfigError(`${where}.file: entry ${JSON.stringify(key)} in "${path}" must be a JSON object`);
    entries.set(key, JSON.stringify(entry));
  }
  return entries;
}
