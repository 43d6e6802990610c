// The strict reading of fastly.toml that `outpost build`, `pack` and
// `validate` use: a key the platform does not know, or a value of the wrong
// type, is an error naming the key and the fix (with a did-you-mean), where
// `outpost serve` only warns about unknown top-level keys.
import { ConfigError, checkKeys, describeValue, expectTable, isTable, suggest, type Table } from "./config-error.ts";

/** The `language` values the platform and Outpost know. */
export const MANIFEST_LANGUAGES = ["rust", "javascript", "typescript", "go", "cpp", "c", "zig", "assemblyscript", "python", "other"];

const SCRIPT_KEYS = ["build", "env_file", "env_vars", "post_build", "post_init"];
const SETUP_KEYS = ["backends", "config_stores", "dictionaries", "kv_stores", "object_stores", "secret_stores", "log_endpoints", "products"];

/** Checks what the lenient reading lets through; `topLevelKeys` are the known top-level keys. */
export function checkManifestStrictly(doc: Table, where: string, topLevelKeys: readonly string[]): void {
  checkKeys(doc, topLevelKeys, where);
  stringField(doc, "description", where);
  stringField(doc, "service_id", where);
  stringField(doc, "profile", where);
  stringField(doc, "cloned_from", where);
  stringArray(doc.authors, `${where}: authors`, 'authors = ["you@example.com"]');
  const language = stringField(doc, "language", where);
  if (language !== null && !MANIFEST_LANGUAGES.includes(language)) {
    throw new ConfigError(`${where}: unknown language ${JSON.stringify(language)}${suggest(language, MANIFEST_LANGUAGES)}`);
  }
  if (doc.scripts !== undefined) {
    const scripts = expectTable(doc.scripts, `${where}: [scripts]`);
    checkKeys(scripts, SCRIPT_KEYS, `${where}: [scripts]`);
    for (const key of ["build", "env_file", "post_build", "post_init"]) stringField(scripts, key, `${where}: scripts`);
    stringArray(scripts.env_vars, `${where}: scripts.env_vars`, 'env_vars = ["KEY=value"]');
  }
  if (doc.setup !== undefined) {
    const setup = expectTable(doc.setup, `${where}: [setup]`);
    checkKeys(setup, SETUP_KEYS, `${where}: [setup]`);
    for (const [key, value] of Object.entries(setup)) expectTable(value, `${where}: [setup.${key}]`);
  }
}

function stringField(table: Table, key: string, where: string): string | null {
  const value = table[key];
  if (value === undefined) return null;
  if (typeof value !== "string") {
    const hint = typeof value === "number" || typeof value === "boolean" ? ` (quote it: ${key} = "${value}")` : "";
    throw new ConfigError(`${where}: ${key} must be a string, got ${describeValue(value)}${hint}`);
  }
  return value;
}

function stringArray(value: unknown, where: string, example: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || isTable(item))) {
    throw new ConfigError(`${where} must be an array of strings, got ${describeValue(value)} (for example ${example})`);
  }
}
