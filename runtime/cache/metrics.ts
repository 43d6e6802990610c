// Counters of what the cache did, exported in the Prometheus text format.
import type { StoreStats } from "./store.ts";

export class CacheMetrics {
  hits = 0;
  misses = 0;
  passes = 0;
  /** Requests that waited for another's origin fetch instead of making their own. */
  collapsed = 0;
  /** Stale objects served while revalidating or because the origin failed. */
  staleServed = 0;
  /** Revalidations answered 304 Not Modified. */
  revalidated = 0;
  originRequests = 0;
  /** Body bytes served from stored objects. */
  hitBytes = 0;
  /** Objects removed by purges. */
  purged = 0;

  /** The Prometheus exposition of these counters and the store's state. */
  prometheus(store: StoreStats, labels: Record<string, string> = {}): string {
    const label = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "\\$&")}"`)
      .join(",");
    const l = label ? `{${label}}` : "";
    const lines: string[] = [];
    const metric = (name: string, type: "counter" | "gauge", help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${l} ${value}`);
    };
    metric("outpost_cache_hits_total", "counter", "Requests answered from the cache.", this.hits);
    metric("outpost_cache_misses_total", "counter", "Cacheable requests that went to the origin.", this.misses);
    metric("outpost_cache_passes_total", "counter", "Requests that bypassed the cache.", this.passes);
    metric("outpost_cache_collapsed_total", "counter", "Requests that waited on another request's origin fetch.", this.collapsed);
    metric("outpost_cache_stale_served_total", "counter", "Stale objects served (stale-while-revalidate, stale-if-error).", this.staleServed);
    metric("outpost_cache_revalidated_total", "counter", "Revalidations answered 304 Not Modified.", this.revalidated);
    metric("outpost_cache_origin_requests_total", "counter", "Requests sent to origins through the cache.", this.originRequests);
    metric("outpost_cache_hit_bytes_total", "counter", "Body bytes served from stored objects.", this.hitBytes);
    metric("outpost_cache_purged_total", "counter", "Objects removed or marked stale by purges.", this.purged);
    metric("outpost_cache_evictions_total", "counter", "Objects evicted to stay within the memory budget.", store.evictions);
    metric("outpost_cache_objects", "gauge", "Objects stored.", store.objects);
    metric("outpost_cache_bytes", "gauge", "Bytes taken by stored objects.", store.bytes);
    return lines.join("\n") + "\n";
  }
}
