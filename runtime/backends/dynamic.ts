// Backends guests register at run time (`register_dynamic_backend`).
//
// A registration is visible to the request that made it only, as on the
// platform ("as long as it does not match ... any other dynamic backends
// built during a single execution") and in the reference emulator (per
// sandbox). Connections are another matter: the platform pools them across
// requests for backends "registered with the same name and the exact same
// settings", so the pools (and health checks) live here, shared by every
// request that registers the same backend, unless it asks for `dont_pool`.
// Shared pools are bounded: the most recently used 200 (the platform's limit
// of dynamic backends per service) are kept, each for 10 minutes after its
// last registration; a pool still in use when it leaves is closed once its
// last request ends.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { BackendHealth } from "../abi/constants.ts";
import { HostError, Status } from "../abi/status.ts";
import {
  DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_FIRST_BYTE_TIMEOUT_MS,
} from "../config/backends.ts";
import type { BackendSummary } from "../engine/protocol.ts";
import { Backend } from "./backend.ts";
import type { DynamicBackendSpec } from "./dynamic-spec.ts";
import { HealthCheck } from "./healthcheck.ts";

/** Dynamic backends per request, and shared pools kept. */
export const MAX_DYNAMIC_BACKENDS = 200;
const IDLE_MS = 10 * 60_000;

/** One pool (and health check) and the requests using it. */
class Entry {
  readonly backend: Backend;
  readonly healthCheck: HealthCheck | null;
  private users = 0;
  /** No longer handed out: closed when its last user lets go. */
  private retired = false;
  /** Set once the pool is closing. */
  closed: Promise<void> | null = null;

  private readonly onClosed: (entry: Entry) => void;

  constructor(spec: DynamicBackendSpec, onClosed: (entry: Entry) => void) {
    this.onClosed = onClosed;
    this.backend = new Backend({
      name: spec.name,
      url: new URL(`${spec.ssl ? "https" : "http"}://${spec.authority}/`),
      overrideHost: spec.hostOverride,
      certHost: spec.certHostname,
      useSni: true,
      grpc: spec.grpc,
      caCertificates: spec.caCertificate ? [spec.caCertificate] : null,
      clientCertificate: spec.clientCertificate,
      connectTimeoutMs: spec.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      firstByteTimeoutMs: spec.firstByteTimeoutMs ?? DEFAULT_FIRST_BYTE_TIMEOUT_MS,
      betweenBytesTimeoutMs: spec.betweenBytesTimeoutMs ?? DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
      health: BackendHealth.UNKNOWN,
      tuning: spec,
    });
    this.healthCheck = spec.healthcheck ? new HealthCheck(this.backend, spec.healthcheck) : null;
  }

  get live(): boolean {
    return !this.retired;
  }

  summary(): BackendSummary {
    return { ...this.backend.summary(), health: this.healthCheck?.state ?? BackendHealth.UNKNOWN };
  }

  acquire(): void {
    this.users++;
  }

  release(): void {
    this.users--;
    this.closeIfUnused();
  }

  retire(): void {
    this.retired = true;
    this.closeIfUnused();
  }

  private closeIfUnused(): void {
    if (!this.retired || this.users > 0 || this.closed) return;
    this.healthCheck?.stop();
    this.closed = this.backend.close().finally(() => this.onClosed(this));
  }
}

interface Registration {
  key: string;
  entry: Entry;
}

export interface DynamicBackendsOptions {
  /** Names of the service's static backends, which a registration may not take. */
  staticNames: Iterable<string>;
  /** Shared pools kept (default 200). */
  maxShared?: number;
  /** How long an unused shared pool is kept (default 10 minutes). */
  idleMs?: number;
}

export class DynamicBackends {
  private readonly staticNames: Set<string>;
  private readonly shared: LRUCache<string, Entry>;
  /** Each request's registrations, by name. */
  private readonly requests = new Map<object, Map<string, Registration>>();
  /** Every entry made, until it has closed. */
  private readonly entries = new Set<Entry>();

  constructor(options: DynamicBackendsOptions) {
    this.staticNames = new Set(options.staticNames);
    this.shared = new LRUCache<string, Entry>({
      max: options.maxShared ?? MAX_DYNAMIC_BACKENDS,
      ttl: options.idleMs ?? IDLE_MS,
      ttlAutopurge: true,
      updateAgeOnGet: true,
      dispose: (entry) => entry.retire(),
    });
  }

  /**
   * Registers a backend for `request` (any object standing for one request;
   * `release` it when the request ends). The same name with the same
   * settings again is accepted; with other settings, or a static backend's
   * name, it is an error.
   */
  register(request: object, spec: DynamicBackendSpec): BackendSummary {
    if (this.staticNames.has(spec.name)) throw new HostError(Status.ERROR, `backend "${spec.name}" is defined in fastly.toml`);
    let mine = this.requests.get(request);
    if (!mine) this.requests.set(request, (mine = new Map()));
    const key = settingsKey(spec);
    const existing = mine.get(spec.name);
    if (existing) {
      if (existing.key !== key) throw new HostError(Status.ERROR, `dynamic backend "${spec.name}" is already registered with other settings`);
      return existing.entry.summary();
    }
    if (mine.size >= MAX_DYNAMIC_BACKENDS) {
      throw new HostError(Status.LIMITEXCEEDED, `a request may register at most ${MAX_DYNAMIC_BACKENDS} dynamic backends`);
    }
    const entry = spec.dontPool ? this.newEntry(spec) : this.sharedEntry(key, spec);
    entry.acquire();
    // A pool of its own: closed when this request ends.
    if (spec.dontPool) entry.retire();
    mine.set(spec.name, { key, entry });
    return entry.summary();
  }

  private sharedEntry(key: string, spec: DynamicBackendSpec): Entry {
    const found = this.shared.get(key);
    if (found?.live) return found;
    const entry = this.newEntry(spec);
    this.shared.set(key, entry);
    return entry;
  }

  private newEntry(spec: DynamicBackendSpec): Entry {
    const entry = new Entry(spec, (closed) => this.entries.delete(closed));
    this.entries.add(entry);
    return entry;
  }

  /** The backend `request` registered under `name`. */
  get(request: object, name: string): Backend | undefined {
    return this.requests.get(request)?.get(name)?.entry.backend;
  }

  /** The request has ended: its registrations go, and pools no one uses any more close. */
  release(request: object): void {
    const mine = this.requests.get(request);
    if (!mine) return;
    this.requests.delete(request);
    for (const { entry } of mine.values()) entry.release();
  }

  /** Shared pools kept (for tests and metrics). */
  get sharedCount(): number {
    return this.shared.size;
  }

  async close(): Promise<void> {
    for (const request of [...this.requests.keys()]) this.release(request);
    this.shared.clear();
    await Promise.all([...this.entries].map((entry) => entry.closed));
  }
}

/** Same name and exact same settings, same key (secrets included, so only a digest is kept). */
function settingsKey(spec: DynamicBackendSpec): string {
  return createHash("sha256").update(JSON.stringify(spec)).digest("base64url");
}
