// The main-thread services this server offers to host calls (see
// host-services.ts): one entry per service, built from the server's parts.
import type { DynamicBackends } from "../backends/dynamic.ts";
import type { CoreCache } from "../cache/core-cache.ts";
import type { HttpCacheApi } from "../cache/http-cache-api.ts";
import type { Readthrough } from "../cache/readthrough.ts";
import { coreCacheService } from "./core-cache-service.ts";
import { dynamicBackendService } from "./dynamic-backend-service.ts";
import { httpCacheService } from "./http-cache-service.ts";
import type { KvDatabase } from "../stores/kv-database.ts";
import { kvService } from "./kv-service.ts";
import type { EdgeRateLimits } from "../stores/rate-limit.ts";
import { erlService } from "./erl-service.ts";
import type { HostServices } from "./host-services.ts";

export interface ServiceParts {
  cache: Readthrough;
  /** The Core Cache API, over the same store as `cache`. */
  coreCache: CoreCache;
  /** The HTTP Cache API, over the same store as `cache`. */
  httpCache: HttpCacheApi;
  /** Backends guests register at run time. */
  dynamicBackends: DynamicBackends;
  /** The KV stores (`fastly_kv_store`, `fastly_object_store`). */
  kv: KvDatabase;
  /** Rate counters and penalty boxes (`fastly_erl`). */
  erl: EdgeRateLimits;
}

export function hostServices(parts: ServiceParts): HostServices {
  return {
    purge: {
      /** `fastly_purge::purge_surrogate_key`: the number of objects purged. */
      surrogateKey: (_context, key: string, soft: boolean) => parts.cache.purgeSurrogateKeys([key], soft),
    },
    /** `fastly_cache`: see runtime/hostcalls/cache.ts. */
    coreCache: coreCacheService(parts.coreCache),
    /** `fastly_http_cache`: see runtime/hostcalls/http-cache.ts. */
    httpCache: httpCacheService(parts.httpCache),
    /** `register_dynamic_backend`: see runtime/hostcalls/dynamic-backend.ts. */
    dynamicBackends: dynamicBackendService(parts.dynamicBackends),
    /** `fastly_kv_store` and `fastly_object_store`: see runtime/hostcalls/kv-store.ts. */
    kv: kvService(parts.kv),
    /** `fastly_erl`: see runtime/hostcalls/erl.ts. */
    erl: erlService(parts.erl),
  };
}
