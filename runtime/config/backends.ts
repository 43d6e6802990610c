// `[local_server.backends.<name>]`: the origins a service may send to.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BackendHealth } from "../abi/constants.ts";
import type { BackendTuning } from "../backends/dynamic-spec.ts";
import {
  checkKeys,
  ConfigError,
  describeValue,
  expectTable,
  isTable,
  optionalBoolean,
  optionalString,
  optionalTimeout,
  type Table,
} from "./config-error.ts";

const BACKEND_KEYS = [
  "url",
  "override_host",
  "cert_host",
  "use_sni",
  "grpc",
  "ca_certificate",
  "client_certificate",
  "first_byte_timeout_ms",
  "between_bytes_timeout_ms",
  "connect_timeout_ms",
  "health",
];

// The platform's defaults (https://www.fastly.com/documentation/reference/api/services/backend/).
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
export const DEFAULT_FIRST_BYTE_TIMEOUT_MS = 15_000;
export const DEFAULT_BETWEEN_BYTES_TIMEOUT_MS = 10_000;

export interface BackendConfig {
  name: string;
  /** Scheme, host, port and optional path prefix of the origin. */
  url: URL;
  overrideHost: string | null;
  /** Name to verify the origin's certificate against (default: the URL's host). */
  certHost: string | null;
  useSni: boolean;
  grpc: boolean;
  /** Extra trusted CA certificates (PEM); null trusts the system roots. */
  caCertificates: string[] | null;
  clientCertificate: { cert: string; key: string } | null;
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
  betweenBytesTimeoutMs: number;
  /** `$backend_health` value reported to the guest. */
  health: number;
  /** Only for backends a guest registers at run time (runtime/backends/dynamic.ts). */
  tuning?: BackendTuning;
}

export function parseBackends(value: unknown, where: string, dir: string): BackendConfig[] {
  if (value === undefined) return [];
  const table = expectTable(value, `${where}: [local_server.backends]`);
  return Object.entries(table).map(([name, entry]) => parseBackend(name, entry, `${where}: local_server.backends.${name}`, dir));
}

function parseBackend(name: string, value: unknown, where: string, dir: string): BackendConfig {
  // `name = "http://..."` is accepted as a shorthand for `name = { url = "..." }`.
  const table = typeof value === "string" ? { url: value } : expectTable(value, where);
  checkKeys(table, BACKEND_KEYS, where);
  const url = backendUrl(table.url, where);
  return {
    name,
    url,
    overrideHost: optionalString(table.override_host, `${where}.override_host`),
    certHost: optionalString(table.cert_host, `${where}.cert_host`),
    useSni: optionalBoolean(table.use_sni, `${where}.use_sni`) ?? true,
    grpc: optionalBoolean(table.grpc, `${where}.grpc`) ?? false,
    caCertificates: pemList(table.ca_certificate, `${where}.ca_certificate`, dir),
    clientCertificate: clientCertificate(table.client_certificate, `${where}.client_certificate`, dir),
    connectTimeoutMs: optionalTimeout(table.connect_timeout_ms, `${where}.connect_timeout_ms`) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    firstByteTimeoutMs:
      optionalTimeout(table.first_byte_timeout_ms, `${where}.first_byte_timeout_ms`) ?? DEFAULT_FIRST_BYTE_TIMEOUT_MS,
    betweenBytesTimeoutMs:
      optionalTimeout(table.between_bytes_timeout_ms, `${where}.between_bytes_timeout_ms`) ?? DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
    health: health(table.health, `${where}.health`),
  };
}

/** `scheme://host[:port][/path-prefix]`: what to connect to, and the prefix for request paths. */
function backendUrl(value: unknown, backendWhere: string): URL {
  const example = `(for example url = "http://127.0.0.1:8080/")`;
  if (value === undefined) throw new ConfigError(`${backendWhere}: missing "url" ${example}`);
  const where = `${backendWhere}.url`;
  const text = optionalString(value, where) ?? "";
  // "localhost:8080" parses as a URL with the scheme "localhost:".
  const schemeless = !/^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const hint = schemeless && text ? ` (did you mean "http://${text}"?)` : ` ${example}`;
    throw new ConfigError(`${where}: ${describeValue(text)} is not a URL${hint}`);
  }
  if (schemeless) throw new ConfigError(`${where}: ${describeValue(text)} has no scheme (did you mean "http://${text}"?)`);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${where}: the scheme must be http or https, got "${url.protocol.slice(0, -1)}"`);
  }
  if (!url.hostname) throw new ConfigError(`${where}: ${describeValue(text)} has no host ${example}`);
  if (url.username || url.password) {
    throw new ConfigError(`${where}: credentials in the URL are not sent to the backend; remove them and set the header from the guest`);
  }
  if (url.search || url.hash || text.endsWith("?") || text.endsWith("#")) {
    throw new ConfigError(`${where}: a backend URL takes a path prefix but no query or fragment, got ${describeValue(text)}`);
  }
  return url;
}

const HEALTH: Record<string, number> = {
  unknown: BackendHealth.UNKNOWN,
  healthy: BackendHealth.HEALTHY,
  unhealthy: BackendHealth.UNHEALTHY,
};

function health(value: unknown, where: string): number {
  if (value === undefined) return BackendHealth.UNKNOWN;
  if (typeof value !== "string" || !Object.hasOwn(HEALTH, value)) {
    throw new ConfigError(`${where} must be "unknown", "healthy" or "unhealthy", got ${describeValue(value)}`);
  }
  return HEALTH[value];
}

function readPemFile(path: string, where: string, dir: string): string {
  const full = resolve(dir, path);
  try {
    return readFileSync(full, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new ConfigError(`${where}: cannot read "${path}" (${full}): ${reason}; relative paths start at the directory of fastly.toml`);
  }
}

function checkPem(text: string, where: string): string {
  if (!text.includes("-----BEGIN")) throw new ConfigError(`${where}: expected PEM text ("-----BEGIN ...")`);
  return text;
}

/** A PEM string, an array of them, or `{ file = "ca.pem" }` / `{ value = "..." }`. */
function pemList(value: unknown, where: string, dir: string): string[] | null {
  if (value === undefined) return null;
  if (typeof value === "string") return [checkPem(value, where)];
  if (Array.isArray(value)) return value.flatMap((item, i) => pemList(item, `${where}[${i}]`, dir) ?? []);
  if (isTable(value)) {
    checkKeys(value, ["file", "value"], where);
    if (typeof value.file === "string") return [checkPem(readPemFile(value.file, where, dir), where)];
    if (typeof value.value === "string") return [checkPem(value.value, where)];
  }
  throw new ConfigError(`${where} must be PEM text, a list of them, or { file = "ca.pem" }`);
}

function clientCertificate(value: unknown, where: string, dir: string): { cert: string; key: string } | null {
  if (value === undefined) return null;
  const table: Table = expectTable(value, where);
  checkKeys(table, ["certificate", "key", "certificate_file", "key_file"], where);
  const cert =
    optionalString(table.certificate, `${where}.certificate`) ??
    (typeof table.certificate_file === "string" ? readPemFile(table.certificate_file, where, dir) : null);
  const key =
    optionalString(table.key, `${where}.key`) ?? (typeof table.key_file === "string" ? readPemFile(table.key_file, where, dir) : null);
  if (!cert || !key) throw new ConfigError(`${where} needs a certificate and a key (certificate/key or certificate_file/key_file)`);
  return { cert: checkPem(cert, `${where}.certificate`), key: checkPem(key, `${where}.key`) };
}
