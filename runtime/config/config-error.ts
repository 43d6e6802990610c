// Errors in user configuration, and the small readers that produce them.
import { distance } from "fastest-levenshtein";

/** A mistake in a configuration file: the message names the place and the fix. */
export class ConfigError extends Error {}

export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** A TOML value as a message shows it: strings quoted, tables and arrays by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (isTable(value)) return "a table";
  return String(value);
}

export function expectTable(value: unknown, where: string): Table {
  if (!isTable(value)) throw new ConfigError(`${where} must be a table, got ${describeValue(value)}`);
  return value;
}

export function optionalString(value: unknown, where: string): string | null {
  if (value === undefined) return null;
  if (typeof value !== "string") {
    const hint = typeof value === "number" || typeof value === "boolean" ? ` (quote it: "${value}")` : "";
    throw new ConfigError(`${where} must be a string, got ${describeValue(value)}${hint}`);
  }
  return value;
}

export function optionalBoolean(value: unknown, where: string): boolean | null {
  if (value === undefined) return null;
  if (typeof value !== "boolean") throw new ConfigError(`${where} must be true or false (unquoted), got ${describeValue(value)}`);
  return value;
}

/** Milliseconds: a whole number from 1 to 2^32 - 1 (the ABI reports timeouts as u32). */
export function optionalTimeout(value: unknown, where: string): number | null {
  if (value === undefined) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 0xffffffff) {
    const key = where.split(/[\s.:]/).pop();
    throw new ConfigError(
      `${where} must be a whole number of milliseconds above 0, got ${describeValue(value)} (for example ${key} = 15000)`,
    );
  }
  return value;
}

/** Rejects keys outside `allowed`, suggesting the closest one. */
export function checkKeys(table: Table, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(table)) {
    if (!allowed.includes(key)) throw new ConfigError(`${where}: unknown key "${key}"${suggest(key, allowed)}`);
  }
}

/** " (did you mean "x"?)" for a near miss, else a list of the valid keys. */
export function suggest(key: string, allowed: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(key.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  if (best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3))) return ` (did you mean "${best}"?)`;
  return ` (expected one of: ${allowed.join(", ")})`;
}
