// The guest's view of the Core Cache API (`fastly_cache`): handles naming
// lookups, replaces and pending transactions whose state lives on the main
// thread (runtime/cache/core-cache.ts), and the shapes that cross to the
// "coreCache" service. The handles share the async-item table, so
// `fastly_async_io::select` and `is_ready` work on them.
import { HostError, Status } from "../abi/status.ts";

/** `$cache_lookup_state` flags. */
export const CacheState = {
  FOUND: 1 << 0,
  USABLE: 1 << 1,
  STALE: 1 << 2,
  MUST_INSERT_OR_UPDATE: 1 << 3,
  USABLE_IF_ERROR: 1 << 4,
} as const;

/** `$cache_replace_strategy` values. */
export const ReplaceStrategy = { IMMEDIATE: 0, IMMEDIATE_FORCE_MISS: 1, WAIT: 2 } as const;

/** What a lookup (or replace) asks for. Headers are a flat [name, value, ...] list. */
export interface CoreLookup {
  /** The cache key, hex-encoded. */
  key: string;
  headers: string[];
  alwaysUseRequestedRange: boolean;
}

export interface CoreReplace extends CoreLookup {
  strategy: number;
}

/** A decoded `$cache_write_options` record. Durations in nanoseconds. */
export interface CoreWriteOptions {
  maxAgeNs: bigint;
  initialAgeNs: bigint;
  staleWhileRevalidateNs: bigint;
  /** Header names, lower-case, sorted, without duplicates. */
  varyRule: string[];
  surrogateKeys: string[];
  /** Declared length, or null. */
  length: number | null;
  userMetadata: Uint8Array;
  sensitive: boolean;
  edgeMaxAgeNs: bigint;
  /** Request headers (non-transactional `insert` and `replace_insert` only), or null. */
  headers: string[] | null;
}

/** `$cache_get_body_options`: byte offsets, `to` inclusive; null when not given. */
export interface ByteRange {
  from: number | null;
  to: number | null;
}

/** What a handle's found (or existing) object looks like now. */
export interface CoreDetails {
  state: number;
  found: boolean;
  length: number | null;
  maxAgeNs: bigint;
  staleWhileRevalidateNs: bigint;
  ageNs: bigint;
  hits: number;
  userMetadata: Uint8Array;
}

const SETTLED = Promise.resolve();

/** A completed lookup (`$cache_handle`) or replace (`$cache_replace_handle`). */
export class CacheHandle {
  /** The main thread's id of the lookup. */
  readonly id: number;
  readonly replace: boolean;
  /** The body handle last handed out by `get_body`: one may be open at a time. */
  body: number | null = null;
  readonly done = true;
  readonly promise = SETTLED;

  constructor(id: number, replace: boolean) {
    this.id = id;
    this.replace = replace;
  }
}

/** A transactional lookup that may be waiting for another client (`$cache_busy_handle`). */
export class CacheBusyHandle {
  /** Names the lookup to the main thread, to cancel it. */
  readonly token: string;
  readonly promise: Promise<void>;
  done = false;
  /** The main thread's id of the lookup, once it has completed. */
  entry: number | null = null;
  error: HostError | null = null;
  /** Set once `cache_busy_handle_wait` has turned it into a cache handle. */
  claimed = false;

  /** A lookup that completed at once (`entry`), or one still waiting (`lookup`). */
  constructor(token: string, entry: number | null, lookup: Promise<unknown> | null) {
    this.token = token;
    if (entry !== null || !lookup) {
      this.entry = entry;
      this.done = true;
      this.promise = SETTLED;
      return;
    }
    this.promise = lookup.then(
      (id) => {
        this.entry = id as number;
        this.done = true;
      },
      (error: unknown) => {
        this.error = error instanceof HostError ? error : new HostError(Status.ERROR, String(error));
        this.done = true;
      },
    );
  }
}
