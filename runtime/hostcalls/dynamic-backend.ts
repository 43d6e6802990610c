// `fastly_http_req::register_dynamic_backend`: a backend the guest defines
// at run time. The `dynamic_backend_config` record is read here (only the
// fields whose mask bit is set), checked, and sent to the main thread, which
// makes or reuses the connection pool (runtime/backends/dynamic.ts). The
// backend is then this request's to send to and to ask about.
import { X509Certificate } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { createSecureContext } from "node:tls";
import { TlsVersion } from "../abi/constants.ts";
import { HostError, Status } from "../abi/status.ts";
import type { DynamicBackendSpec, HealthcheckSpec, KeepaliveSpec, PoolingSpec } from "../backends/dynamic-spec.ts";
import type { BackendSummary } from "../engine/protocol.ts";
import type { Session } from "../session/session.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** `$backend_config_options` flags. */
export const BackendConfigOptions = {
  RESERVED: 1 << 0,
  HOST_OVERRIDE: 1 << 1,
  CONNECT_TIMEOUT: 1 << 2,
  FIRST_BYTE_TIMEOUT: 1 << 3,
  BETWEEN_BYTES_TIMEOUT: 1 << 4,
  USE_SSL: 1 << 5,
  SSL_MIN_VERSION: 1 << 6,
  SSL_MAX_VERSION: 1 << 7,
  CERT_HOSTNAME: 1 << 8,
  CA_CERT: 1 << 9,
  CIPHERS: 1 << 10,
  SNI_HOSTNAME: 1 << 11,
  DONT_POOL: 1 << 12,
  CLIENT_CERT: 1 << 13,
  GRPC: 1 << 14,
  KEEPALIVE: 1 << 15,
  POOLING_LIMITS: 1 << 16,
  PREFER_IPV4: 1 << 17,
  HEALTHCHECK: 1 << 18,
} as const;
const KNOWN_OPTIONS = (1 << 19) - 1;

/** Sizes of `dynamic_backend_config` and `healthcheck_config` (ABI-SUMMARY §8). */
const CONFIG_SIZE = 108;
const HEALTHCHECK_SIZE = 56;
const MAX_NAME_BYTES = 1024;
const MAX_CA_BYTES = 64 * 1024;

const invalid = (message: string) => new HostError(Status.INVAL, message);

/** Reads the record's fields; each getter takes the field's offset. */
class ConfigRecord {
  private readonly s: Session;
  private readonly ptr: number;
  constructor(s: Session, ptr: number) {
    this.s = s;
    this.ptr = ptr;
    // The record is read whatever the mask says, as the reference emulator does.
    s.mem.slice(ptr, CONFIG_SIZE);
    s.mem.readU32(ptr);
  }

  u32(offset: number): number {
    return this.s.mem.readU32(this.ptr + offset);
  }

  /** A (pointer, length) string field: non-empty unless `allowEmpty`, at most `max` bytes. */
  text(offset: number, field: string, max: number, allowEmpty = false): string {
    const len = this.u32(offset + 4);
    if (len === 0 && !allowEmpty) throw invalid(`${field} is empty`);
    if (len > max) throw invalid(`${field} is longer than ${max} bytes`);
    return this.s.mem.string(this.u32(offset), len);
  }
}

/** `host[:port]` with an IPv6 host in brackets; a bare IPv6 address has no port. Null when invalid. */
export function parseTarget(target: string): { host: string; authority: string } | null {
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracketed) [, host, port] = bracketed;
  else if (target.split(":").length > 2) host = target;
  else [host, port] = target.split(":");
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) return null;
  if (isIPv6(host)) {
    if (host === "::" || host.includes("%")) return null;
  } else if (bracketed || !/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/.test(host) || host.includes("..")) {
    return null;
  } else if (isIPv4(host) && host === "0.0.0.0") {
    return null;
  }
  const authority = (isIPv6(host) ? `[${host}]` : host) + (port !== undefined ? `:${Number(port)}` : "");
  return { host, authority };
}

/** A certificate or SNI name: SDKs may pass the target itself, port and all. */
function hostName(text: string): string {
  const parsed = parseTarget(text);
  return parsed ? parsed.host : text;
}

function tlsVersion(value: number, field: string): number {
  if (value < TlsVersion.TLS_1 || value > TlsVersion.TLS_1_3) throw invalid(`${field}: unknown TLS version ${value}`);
  return value;
}

function timeout(value: number, field: string): number {
  if (value === 0) throw invalid(`${field} must be above 0 ms`);
  return value;
}

function checkCa(pem: string): string {
  try {
    new X509Certificate(pem);
  } catch {
    throw invalid("ca_cert is not a PEM certificate");
  }
  return pem;
}

function checkTls(options: { ciphers?: string; cert?: string; key?: string }, what: string): void {
  try {
    createSecureContext(options);
  } catch (error) {
    throw invalid(`${what}: ${(error as Error).message}`);
  }
}

function readHealthcheck(s: Session, ptr: number): HealthcheckSpec {
  s.mem.slice(ptr, HEALTHCHECK_SIZE);
  const u64 = (offset: number) => Math.min(Number(s.mem.readU64(ptr + offset)), Number.MAX_SAFE_INTEGER);
  const u32 = (offset: number) => s.mem.readU32(ptr + offset);
  const text = (offset: number) => s.mem.string(u32(offset), u32(offset + 4));
  const spec: HealthcheckSpec = {
    intervalMs: u64(0),
    timeoutMs: u64(8),
    host: text(16) || null,
    method: text(24) || "HEAD",
    path: text(32) || "/",
    expectedStatus: u32(40) || 200,
    window: u32(44),
    threshold: u32(48),
    initial: u32(52),
  };
  if (spec.intervalMs === 0 || spec.timeoutMs === 0) throw invalid("healthcheck interval and timeout must be above 0 ms");
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(spec.method)) throw invalid(`healthcheck method ${JSON.stringify(spec.method)} is not a method`);
  if (!/^\/[\x21-\x7e]*$/.test(spec.path)) throw invalid(`healthcheck path ${JSON.stringify(spec.path)} must start with "/"`);
  if (spec.host !== null && /[\r\n\0]/.test(spec.host)) throw invalid("healthcheck host is not a header value");
  if (spec.expectedStatus < 100 || spec.expectedStatus > 999) throw invalid(`healthcheck expected status ${spec.expectedStatus} is not a status`);
  if (spec.window === 0 || spec.threshold > spec.window || spec.initial > spec.window) {
    throw invalid("healthcheck window must be above 0, with threshold and initial at most the window");
  }
  return spec;
}

/** Decodes and checks the guest's arguments (`inval` for anything malformed). */
export function readDynamicBackend(s: Session, namePtr: number, nameLen: number, targetPtr: number, targetLen: number, mask: number, configPtr: number): DynamicBackendSpec {
  const name = s.mem.string(namePtr, nameLen);
  const targetText = s.mem.string(targetPtr, targetLen);
  const config = new ConfigRecord(s, configPtr);
  mask >>>= 0;
  if (mask & BackendConfigOptions.RESERVED) throw invalid("the reserved backend option is set");
  if (mask & ~KNOWN_OPTIONS) throw invalid(`unknown backend options 0x${(mask & ~KNOWN_OPTIONS).toString(16)}`);
  if (name === "") throw invalid("a backend needs a name");
  const target = parseTarget(targetText);
  if (!target) throw invalid(`target ${JSON.stringify(targetText)} is not host[:port]`);
  const has = (bit: number) => (mask & bit) !== 0;
  const ssl = has(BackendConfigOptions.USE_SSL);

  const hostOverride = has(BackendConfigOptions.HOST_OVERRIDE) ? config.text(0, "host_override", MAX_NAME_BYTES) : null;
  if (hostOverride !== null && /[\r\n\0]/.test(hostOverride)) throw invalid("host_override is not a header value");
  const tlsMinVersion = has(BackendConfigOptions.SSL_MIN_VERSION) ? tlsVersion(config.u32(20), "ssl_min_version") : null;
  const tlsMaxVersion = has(BackendConfigOptions.SSL_MAX_VERSION) ? tlsVersion(config.u32(24), "ssl_max_version") : null;
  if (tlsMinVersion !== null && tlsMaxVersion !== null && tlsMinVersion > tlsMaxVersion) throw invalid("ssl_min_version is above ssl_max_version");
  const ciphers = has(BackendConfigOptions.CIPHERS) ? config.text(44, "ciphers", MAX_CA_BYTES) : null;
  if (ciphers !== null) checkTls({ ciphers }, "ciphers");
  let sniHostname: string | null | undefined;
  if (has(BackendConfigOptions.SNI_HOSTNAME)) {
    const sni = config.text(52, "sni_hostname", MAX_NAME_BYTES, true);
    sniHostname = sni === "" ? null : hostName(sni);
  }
  let clientCertificate: DynamicBackendSpec["clientCertificate"] = null;
  if (has(BackendConfigOptions.CLIENT_CERT)) {
    const cert = config.text(60, "client_certificate", MAX_CA_BYTES);
    const key = new TextDecoder().decode(s.secrets.get(config.u32(68)));
    checkTls({ cert, key }, "client certificate");
    clientCertificate = { cert, key };
  }
  let keepalive: KeepaliveSpec | null = null;
  if (has(BackendConfigOptions.KEEPALIVE)) {
    keepalive = {
      httpKeepaliveMs: config.u32(72),
      tcpKeepalive: config.u32(76) !== 0,
      tcpIntervalSecs: config.u32(80),
      tcpProbes: config.u32(84),
      tcpTimeSecs: config.u32(88),
    };
  }
  let pooling: PoolingSpec | null = null;
  if (has(BackendConfigOptions.POOLING_LIMITS)) {
    pooling = { maxConnections: config.u32(92), maxUse: config.u32(96), maxLifetimeMs: config.u32(100) };
  }
  const spec: DynamicBackendSpec = {
    name,
    authority: target.authority,
    ssl,
    hostOverride,
    connectTimeoutMs: has(BackendConfigOptions.CONNECT_TIMEOUT) ? timeout(config.u32(8), "connect_timeout_ms") : null,
    firstByteTimeoutMs: has(BackendConfigOptions.FIRST_BYTE_TIMEOUT) ? timeout(config.u32(12), "first_byte_timeout_ms") : null,
    betweenBytesTimeoutMs: has(BackendConfigOptions.BETWEEN_BYTES_TIMEOUT) ? timeout(config.u32(16), "between_bytes_timeout_ms") : null,
    tlsMinVersion,
    tlsMaxVersion,
    certHostname: has(BackendConfigOptions.CERT_HOSTNAME) ? hostName(config.text(28, "cert_hostname", MAX_NAME_BYTES)) : null,
    caCertificate: has(BackendConfigOptions.CA_CERT) ? checkCa(config.text(36, "ca_cert", MAX_CA_BYTES)) : null,
    ciphers,
    clientCertificate,
    dontPool: has(BackendConfigOptions.DONT_POOL),
    grpc: has(BackendConfigOptions.GRPC),
    keepalive,
    pooling,
    preferIpv4: has(BackendConfigOptions.PREFER_IPV4),
    healthcheck: has(BackendConfigOptions.HEALTHCHECK) ? readHealthcheck(s, config.u32(104)) : null,
  };
  if (sniHostname !== undefined) spec.sniHostname = sniHostname;
  return spec;
}

export const dynamicBackendCalls: HostModule = {
  register_dynamic_backend: suspending((s, namePtr, nameLen, targetPtr, targetLen, mask, configPtr) => {
    const spec = readDynamicBackend(s, namePtr, nameLen, targetPtr, targetLen, mask, configPtr);
    if (s.service.backends.some((backend) => backend.name === spec.name)) {
      throw new HostError(Status.ERROR, `backend "${spec.name}" is defined in fastly.toml`);
    }
    return s.link.invoke(s.rid, "dynamicBackends", "register", [spec]).then((summary) => {
      s.dynamicBackends.set(spec.name, summary as BackendSummary);
      return Status.OK;
    });
  }),
};
