// `fastly.toml`: the package manifest and its `[local_server]` table, read as
// the reference emulator reads it, with errors that name the file, the key
// and the fix.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { parse, TomlError } from "smol-toml";
import { type BackendConfig, parseBackends } from "./backends.ts";
import { ConfigError, expectTable, optionalString, suggest, type Table } from "./config-error.ts";
import { checkManifestStrictly } from "./manifest-strict.ts";

export const LATEST_MANIFEST_VERSION = 3;

const TOP_LEVEL_KEYS = [
  "manifest_version",
  "name",
  "description",
  "authors",
  "language",
  "service_id",
  "profile",
  "cloned_from",
  "scripts",
  "local_server",
  "setup",
];

const LOCAL_SERVER_KEYS = [
  "backends",
  "config_stores",
  "dictionaries",
  "kv_stores",
  "object_stores",
  "object_store",
  "secret_stores",
  "geolocation",
  "device_detection",
  "acls",
  "shielding_sites",
  "fake_valid_fastly_keys",
  "pushpin",
  "viceroy_version",
];

export interface Manifest {
  /** Absolute path of the manifest file, or null for the built-in default. */
  path: string | null;
  /** Directory that relative paths in the manifest are resolved against. */
  dir: string;
  manifestVersion: number;
  name: string;
  description: string;
  language: string;
  buildScript: string | null;
  backends: BackendConfig[];
  /** The raw `[local_server]` table, for the parts read elsewhere. */
  localServer: Table;
  /** Unknown top-level keys: reported as warnings, not errors. */
  warnings: string[];
}

/** `strict`: unknown keys and mistyped fields are errors (build, pack, validate), not warnings (serve). */
export interface ManifestOptions {
  strict?: boolean;
}

export function readManifest(path: string, options: ManifestOptions = {}): Manifest {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === "ENOENT"
        ? `${path}: no such file. Create one with \`outpost init\`, or pass --config PATH.`
        : `${path}: cannot read: ${(error as Error).message}`,
    );
  }
  return parseManifest(text, path, dirname(path), options);
}

export function parseManifest(text: string, path: string | null, dir: string, options: ManifestOptions = {}): Manifest {
  const where = path ?? "fastly.toml";
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (error) {
    if (error instanceof TomlError) {
      throw new ConfigError(`${where}:${error.line}:${error.column}: invalid TOML: ${error.message.split("\n")[0]}`);
    }
    throw error;
  }
  if (options.strict) checkManifestStrictly(doc, where, TOP_LEVEL_KEYS);
  const warnings: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key)) warnings.push(`${where}: unknown key "${key}"${suggest(key, TOP_LEVEL_KEYS)}`);
  }
  const localServer = expectTable(doc.local_server ?? {}, `${where}: [local_server]`);
  for (const key of Object.keys(localServer)) {
    if (!LOCAL_SERVER_KEYS.includes(key)) {
      throw new ConfigError(`${where}: unknown key "local_server.${key}"${suggest(key, LOCAL_SERVER_KEYS)}`);
    }
  }
  const scripts = expectTable(doc.scripts ?? {}, `${where}: [scripts]`);
  return {
    path,
    dir,
    manifestVersion: manifestVersion(doc.manifest_version, where),
    name: optionalString(doc.name, `${where}: name`) ?? "",
    description: optionalString(doc.description, `${where}: description`) ?? "",
    language: optionalString(doc.language, `${where}: language`) ?? "",
    buildScript: optionalString(scripts.build, `${where}: scripts.build`),
    backends: parseBackends(localServer.backends, where, dir),
    localServer,
    warnings,
  };
}

function manifestVersion(value: unknown, where: string): number {
  if (value === undefined) return LATEST_MANIFEST_VERSION;
  // Legacy string forms: "0.x.y" means the latest, "1" and "2.0.0" their major.
  const version = typeof value === "string" ? (value.startsWith("0.") ? LATEST_MANIFEST_VERSION : parseInt(value, 10)) : value;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw new ConfigError(`${where}: manifest_version must be an integer such as ${LATEST_MANIFEST_VERSION}, got ${JSON.stringify(value)}`);
  }
  if (version > LATEST_MANIFEST_VERSION) {
    throw new ConfigError(`${where}: manifest_version ${version} is newer than this host understands (${LATEST_MANIFEST_VERSION})`);
  }
  return version;
}

/** The manifest used when a directory has none: no backends. */
export function emptyManifest(dir: string): Manifest {
  return parseManifest("", null, dir);
}
