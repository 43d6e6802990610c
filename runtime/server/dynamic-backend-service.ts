// The "dynamicBackends" host service: the main-thread side of
// `register_dynamic_backend` (runtime/hostcalls/dynamic-backend.ts). It makes
// or reuses the backend's pool (runtime/backends/dynamic.ts) for the calling
// request, and lets go of the request's registrations when its run ends.
import type { DynamicBackends } from "../backends/dynamic.ts";
import type { DynamicBackendSpec } from "../backends/dynamic-spec.ts";
import type { BackendSummary } from "../engine/protocol.ts";
import type { Exchange } from "./exchange.ts";
import type { CallContext, HostService } from "./host-services.ts";

export function dynamicBackendService(backends: DynamicBackends): HostService {
  const releases = new WeakMap<Exchange, () => void>();
  return {
    /** What the guest may learn of the backend it registered. */
    register(context: CallContext, spec: DynamicBackendSpec): BackendSummary {
      const { exchange } = context;
      const summary = backends.register(exchange, spec);
      let release = releases.get(exchange);
      if (!release) releases.set(exchange, (release = () => backends.release(exchange)));
      exchange.cleanups.add(release);
      return summary;
    },
  };
}
