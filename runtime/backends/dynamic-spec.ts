// What a guest asks for when it registers a backend at run time
// (`fastly_http_req::register_dynamic_backend`): decoded and checked by the
// host call in the worker (runtime/hostcalls/dynamic-backend.ts), sent to
// the main thread, which makes (or reuses) the connection pool
// (runtime/backends/dynamic.ts). Plain data, so that it crosses threads.

export interface DynamicBackendSpec {
  name: string;
  /** `host[:port]`, IPv6 hosts in brackets. */
  authority: string;
  ssl: boolean;
  hostOverride: string | null;
  connectTimeoutMs: number | null;
  firstByteTimeoutMs: number | null;
  betweenBytesTimeoutMs: number | null;
  /** `$tls_version` values. */
  tlsMinVersion: number | null;
  tlsMaxVersion: number | null;
  /** Name the origin's certificate must carry (default: the target's host). */
  certHostname: string | null;
  /** PEM certificates trusted besides the system roots. */
  caCertificate: string | null;
  /** OpenSSL cipher list (TLS 1.2 and below). */
  ciphers: string | null;
  /** SNI name: undefined when not set (the certificate host is sent), null to send none. */
  sniHostname?: string | null;
  clientCertificate: { cert: string; key: string } | null;
  /** Connections are not kept for later requests. */
  dontPool: boolean;
  grpc: boolean;
  keepalive: KeepaliveSpec | null;
  pooling: PoolingSpec | null;
  preferIpv4: boolean;
  healthcheck: HealthcheckSpec | null;
}

/** A backend with no options set: the platform's defaults for everything but `name`, `authority` and `ssl`. */
export function plainBackendSpec(name: string, authority: string, ssl: boolean): DynamicBackendSpec {
  return {
    name,
    authority,
    ssl,
    hostOverride: null,
    connectTimeoutMs: null,
    firstByteTimeoutMs: null,
    betweenBytesTimeoutMs: null,
    tlsMinVersion: null,
    tlsMaxVersion: null,
    certHostname: null,
    caCertificate: null,
    ciphers: null,
    clientCertificate: null,
    dontPool: false,
    grpc: false,
    keepalive: null,
    pooling: null,
    preferIpv4: false,
    healthcheck: null,
  };
}

export interface KeepaliveSpec {
  httpKeepaliveMs: number;
  tcpKeepalive: boolean;
  tcpIntervalSecs: number;
  tcpProbes: number;
  tcpTimeSecs: number;
}

/** Zero means no limit. */
export interface PoolingSpec {
  maxConnections: number;
  /** Requests per connection. */
  maxUse: number;
  maxLifetimeMs: number;
}

export interface HealthcheckSpec {
  intervalMs: number;
  timeoutMs: number;
  /** Host header of the probes (default: the override host, else the target's). */
  host: string | null;
  method: string;
  path: string;
  expectedStatus: number;
  /** How many recent probes count. */
  window: number;
  /** How many of them must have passed for the backend to be healthy. */
  threshold: number;
  /** How many probes count as passed before the first one runs. */
  initial: number;
}

/** What a dynamic backend's connections are made with beyond a static backend's settings. */
export type BackendTuning = Pick<
  DynamicBackendSpec,
  "sniHostname" | "tlsMinVersion" | "tlsMaxVersion" | "ciphers" | "keepalive" | "pooling" | "preferIpv4"
>;
