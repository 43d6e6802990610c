// A backend: an origin with its own connection pool, timeouts and TLS
// settings, built from its configuration.
import { checkServerIdentity, rootCertificates } from "node:tls";
import { Pool } from "undici";
import { TlsVersion } from "../abi/constants.ts";
import type { BackendConfig } from "../config/backends.ts";
import type { BackendSummary } from "../engine/protocol.ts";

export class Backend {
  readonly config: BackendConfig;
  readonly pool: Pool;
  readonly host: string;
  readonly port: number;
  readonly ssl: boolean;
  /** Path prefix every request path is appended to ("" for none). */
  readonly pathPrefix: string;

  constructor(config: BackendConfig) {
    this.config = config;
    const { url } = config;
    this.ssl = url.protocol === "https:";
    this.host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = url.port ? Number(url.port) : this.ssl ? 443 : 80;
    this.pathPrefix = url.pathname.replace(/\/+$/, "");
    const certHost = config.certHost ?? this.host;
    this.pool = new Pool(url.origin, {
      connect: {
        timeout: config.connectTimeoutMs,
        ...(this.ssl
          ? {
              servername: config.useSni ? certHost : undefined,
              // Custom CAs are added to the system roots, not instead of them.
              ca: config.caCertificates ? [...rootCertificates, ...config.caCertificates] : undefined,
              cert: config.clientCertificate?.cert,
              key: config.clientCertificate?.key,
              checkServerIdentity: (_host: string, cert) => checkServerIdentity(certHost, cert),
              ALPNProtocols: ["http/1.1"],
            }
          : {}),
      },
      headersTimeout: config.firstByteTimeoutMs,
      bodyTimeout: config.betweenBytesTimeoutMs,
      keepAliveTimeout: 4_000,
    });
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
      sslMinVersion: this.ssl ? TlsVersion.TLS_1_2 : null,
      sslMaxVersion: this.ssl ? TlsVersion.TLS_1_3 : null,
    };
  }

  close(): Promise<void> {
    return this.pool.close();
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
