// A backend's health check: a probe request every interval, the results of
// the last `window` probes kept, and the backend healthy while at least
// `threshold` of them passed. Before any probe has run, `initial` of the
// window count as passed (Fastly's health check semantics:
// https://www.fastly.com/documentation/guides/concepts/healthcheck/).
import { BackendHealth } from "../abi/constants.ts";
import type { Backend } from "./backend.ts";
import type { HealthcheckSpec } from "./dynamic-spec.ts";

/** setInterval's longest delay. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;

export class HealthCheck {
  private readonly spec: HealthcheckSpec;
  private readonly backend: Backend;
  /** Oldest first. */
  private readonly results: boolean[];
  private readonly timer: NodeJS.Timeout;
  private probing: AbortController | null = null;

  constructor(backend: Backend, spec: HealthcheckSpec) {
    this.backend = backend;
    this.spec = spec;
    this.results = Array.from({ length: spec.window }, (_, i) => i >= spec.window - spec.initial);
    this.timer = setInterval(() => void this.probe(), Math.min(spec.intervalMs, MAX_INTERVAL_MS));
    this.timer.unref();
  }

  /** `$backend_health`: healthy or unhealthy. */
  get state(): number {
    const passed = this.results.reduce((n, ok) => n + (ok ? 1 : 0), 0);
    return passed >= this.spec.threshold ? BackendHealth.HEALTHY : BackendHealth.UNHEALTHY;
  }

  private async probe(): Promise<void> {
    if (this.probing) return; // the previous probe is still waiting for its timeout
    const abort = new AbortController();
    this.probing = abort;
    const timeout = setTimeout(() => abort.abort(), Math.min(this.spec.timeoutMs, MAX_INTERVAL_MS));
    let ok = false;
    try {
      const backend = this.backend;
      const defaultPort = backend.ssl ? 443 : 80;
      const host = this.spec.host ?? backend.config.overrideHost ?? (backend.port === defaultPort ? backend.host : `${backend.host}:${backend.port}`);
      const response = await backend.pool.request({
        method: this.spec.method,
        path: backend.pathPrefix + this.spec.path,
        headers: { host, "user-agent": "outpost-healthcheck" },
        signal: abort.signal,
        servername: backend.requestServername,
      } as Parameters<typeof backend.pool.request>[0]);
      await response.body.dump();
      ok = response.statusCode === this.spec.expectedStatus;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timeout);
    }
    if (this.probing !== abort) return; // stopped meanwhile
    this.probing = null;
    this.results.push(ok);
    this.results.shift();
  }

  stop(): void {
    clearInterval(this.timer);
    this.probing?.abort();
    this.probing = null;
  }
}
