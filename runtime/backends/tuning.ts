// Connection settings a dynamic backend may ask for (TLS versions and
// ciphers, keepalive, pooling limits, IPv4 first), as undici options.
import { lookup, type LookupAllOptions, type LookupOneOptions } from "node:dns";
import type { SecureVersion } from "node:tls";
import type { buildConnector, Pool } from "undici";
import { TlsVersion } from "../abi/constants.ts";
import type { BackendTuning } from "./dynamic-spec.ts";

const TLS_VERSIONS: Record<number, SecureVersion> = {
  [TlsVersion.TLS_1]: "TLSv1",
  [TlsVersion.TLS_1_1]: "TLSv1.1",
  [TlsVersion.TLS_1_2]: "TLSv1.2",
  [TlsVersion.TLS_1_3]: "TLSv1.3",
};

/** Resolves names with IPv4 addresses first (`prefer_ipv4`). */
function lookupIpv4First(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: (...args: never[]) => void): void {
  lookup(hostname, { ...options, order: "ipv4first" } as LookupAllOptions, callback as never);
}

/** Options for the connector: TCP for every backend, TLS ones when `tls`. */
export function connectorTuning(tuning: BackendTuning | undefined, tls: boolean): Partial<buildConnector.BuildOptions> {
  if (!tuning) return {};
  const options: Record<string, unknown> = {};
  if (tuning.keepalive) {
    options.keepAlive = tuning.keepalive.tcpKeepalive;
    if (tuning.keepalive.tcpTimeSecs > 0) options.keepAliveInitialDelay = tuning.keepalive.tcpTimeSecs * 1000;
  }
  if (tuning.preferIpv4) options.lookup = lookupIpv4First;
  if (tls) {
    if (tuning.tlsMinVersion !== null) options.minVersion = TLS_VERSIONS[tuning.tlsMinVersion];
    if (tuning.tlsMaxVersion !== null) options.maxVersion = TLS_VERSIONS[tuning.tlsMaxVersion];
    if (tuning.ciphers !== null) options.ciphers = tuning.ciphers;
  }
  return options as Partial<buildConnector.BuildOptions>;
}

/** Pool options: HTTP keepalive and pooling limits (0: none). */
export function poolTuning(tuning: BackendTuning | undefined): Partial<Pool.Options> {
  const options: Partial<Pool.Options> = {};
  if (tuning?.keepalive && tuning.keepalive.httpKeepaliveMs > 0) {
    options.keepAliveTimeout = tuning.keepalive.httpKeepaliveMs;
    options.keepAliveMaxTimeout = tuning.keepalive.httpKeepaliveMs;
  }
  const pooling = tuning?.pooling;
  if (pooling?.maxConnections) options.connections = pooling.maxConnections;
  if (pooling?.maxUse) options.maxRequestsPerClient = pooling.maxUse;
  if (pooling?.maxLifetimeMs) options.clientTtl = pooling.maxLifetimeMs;
  return options;
}
