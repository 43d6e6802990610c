// A backend: an origin with its own connection pool, timeouts and TLS
// settings, built from its configuration.
import { isIP } from "node:net";
import { checkServerIdentity, rootCertificates } from "node:tls";
import { buildConnector, Pool } from "undici";
import { TlsVersion } from "../abi/constants.ts";
import type { BackendConfig } from "../config/backends.ts";
import type { BackendSummary } from "../engine/protocol.ts";
import { connectorTuning, poolTuning } from "./tuning.ts";

export class Backend {
  readonly config: BackendConfig;
  readonly pool: Pool;
  readonly host: string;
  readonly port: number;
  readonly ssl: boolean;
  /** Path prefix every request path is appended to ("" for none). */
  readonly pathPrefix: string;
  /** The name sent in the TLS handshake's SNI extension, or null for none. */
  readonly sni: string | null;

  constructor(config: BackendConfig) {
    this.config = config;
    const { url } = config;
    this.ssl = url.protocol === "https:";
    this.host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = url.port ? Number(url.port) : this.ssl ? 443 : 80;
    this.pathPrefix = url.pathname.replace(/\/+$/, "");
    // The certificate must name cert_host, else the URL's host; SNI carries the
    // same name (RFC 6066 §3: never an IP address), whatever the Host header says.
    const certHost = config.certHost ?? this.host;
    // A dynamic backend may name its SNI apart from its certificate (or ask for none).
    const sniName = config.tuning?.sniHostname === undefined ? certHost : config.tuning.sniHostname;
    this.sni = this.ssl && config.useSni && sniName !== null && isIP(sniName) === 0 ? sniName : null;
    const connector = buildConnector({
      timeout: config.connectTimeoutMs,
      ...connectorTuning(config.tuning, this.ssl),
      ...(this.ssl
        ? {
            // Custom CAs are added to the system roots, not instead of them.
            ca: config.caCertificates ? [...rootCertificates, ...config.caCertificates] : undefined,
            cert: config.clientCertificate?.cert,
            key: config.clientCertificate?.key,
            checkServerIdentity: (_host: string, cert) => checkServerIdentity(certHost, cert),
            allowH2: false,
          }
        : {}),
    });
    const sni = this.sni;
    this.pool = new Pool(url.origin, {
      // undici derives SNI from each request's Host header; this backend's name
      // is used instead, and with no `host` to fall back on, "none" stays none.
      connect: (options, callback) => connector({ ...options, servername: sni ?? undefined, host: sni ?? "" }, callback),
      headersTimeout: config.firstByteTimeoutMs,
      bodyTimeout: config.betweenBytesTimeoutMs,
      keepAliveTimeout: 4_000,
      // The platform accepts response heads up to 69 KB (Node's default, 16 KiB, would refuse
      // e.g. a Surrogate-Key header at the platform's own 16 KiB limit).
      maxHeaderSize: 69 * 1024,
      ...poolTuning(config.tuning),
    });
  }

  /**
   * Per-request options that keep undici from comparing each request's
   * Host-derived server name with the connection's and reconnecting when they
   * differ; the connector above decides the real SNI.
   */
  get requestServername(): string {
    return this.sni ?? this.host;
  }

  /** What the guest may learn of this backend. */
  summary(): BackendSummary {
    return {
      name: this.config.name,
      host: this.host,
      port: this.port,
      ssl: this.ssl,
      overrideHost: this.config.overrideHost,
      connectTimeoutMs: this.config.connectTimeoutMs,
      firstByteTimeoutMs: this.config.firstByteTimeoutMs,
      betweenBytesTimeoutMs: this.config.betweenBytesTimeoutMs,
      health: this.config.health,
      sslMinVersion: this.ssl ? (this.config.tuning?.tlsMinVersion ?? TlsVersion.TLS_1_2) : null,
      sslMaxVersion: this.ssl ? (this.config.tuning?.tlsMaxVersion ?? TlsVersion.TLS_1_3) : null,
      dynamic: this.config.tuning !== undefined,
      keepalive: this.config.tuning?.keepalive ?? null,
    };
  }

  /**
   * Lets in-flight origin requests finish for a moment, then drops them: a
   * silent origin must not hold a shutdown for its whole first-byte timeout.
   */
  async close(graceMs = 1_000): Promise<void> {
    const timer = setTimeout(() => void this.pool.destroy().catch(() => {}), graceMs);
    try {
      await this.pool.close();
    } catch {
      // destroyed while closing
    } finally {
      clearTimeout(timer);
    }
  }
}

export class Backends {
  private readonly byName = new Map<string, Backend>();

  constructor(configs: BackendConfig[]) {
    for (const config of configs) this.byName.set(config.name, new Backend(config));
  }

  get(name: string): Backend | undefined {
    return this.byName.get(name);
  }

  summaries(): BackendSummary[] {
    return [...this.byName.values()].map((backend) => backend.summary());
  }

  async close(): Promise<void> {
    await Promise.all([...this.byName.values()].map((backend) => backend.close()));
  }
}
