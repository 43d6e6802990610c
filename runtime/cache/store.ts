// The cache's storage: objects in memory under a byte budget with LRU
// eviction, their variants (Vary), and a reverse index from surrogate keys to
// objects so that a purge by key never scans the cache. It holds objects and
// applies purges; deciding what to store and when it is fresh is policy.ts's.
import { LRUCache } from "lru-cache";
import type { Headers } from "../session/headers.ts";
import type { GrowingBody } from "./growing-body.ts";
import { type Freshness, type Lifetimes, secondaryKey } from "./policy.ts";

/** One stored object: an HTTP response (readthrough, HTTP Cache API) or a Core Cache API item. */
export interface CacheObject {
  /** Namespaced primary key ("http:" + host and path, or "core:" + hex key). */
  primary: string;
  /** The request header names this object varies on, and their values for it. */
  varyRule: string[];
  secondary: string;
  status: number;
  headers: Headers;
  body: GrowingBody;
  /** Core Cache API user metadata. */
  userMetadata: Uint8Array;
  surrogateKeys: string[];
  freshness: Freshness;
  /** When the response arrived (or the item was inserted): ms since the epoch. */
  responseTime: number;
  lifetimes: Lifetimes;
  /** When the object can go, stale or not. */
  deleteAt: number;
  hits: number;
  /** Declared length, when known before the body is complete. */
  declaredLength: number | null;
  /** Sensitive (PCI) objects are never written to disk. */
  sensitive: boolean;
}

export interface StoreOptions {
  /** Memory budget for stored objects, in bytes. */
  maxBytes: number;
  /** Objects larger than this are served but not stored. */
  maxObjectBytes?: number;
  now?: () => number;
  /** Called when an object is dropped to make room. */
  onEvict?: (object: CacheObject) => void;
  /** Called whenever an object leaves the store, for whatever reason (persistence follows it). */
  onRemove?: (object: CacheObject) => void;
  /** Called when a soft purge marks a stored object stale (persistence saves the change). */
  onSoftPurge?: (object: CacheObject) => void;
}

export interface StoreStats {
  objects: number;
  bytes: number;
  evictions: number;
}

/** Room taken by an object besides its body: a fixed overhead plus its headers. */
function headerBytes(object: CacheObject): number {
  // Measured: a small object costs about 2 KiB of heap besides its strings
  // (the object, its body, index entries); strings take two bytes a character.
  let n = OBJECT_OVERHEAD + 2 * (object.primary.length + object.secondary.length) + object.userMetadata.byteLength;
  for (const name of object.headers.names()) for (const value of object.headers.getAll(name)) n += 2 * (name.length + value.length) + 32;
  for (const key of object.surrogateKeys) n += 2 * key.length + 64;
  return n;
}

/** Heap an object takes besides its strings and body bytes (measured with 1,000,000 small objects: bench/purge.ts). */
const OBJECT_OVERHEAD = 2048;

const fullKey = (primary: string, secondary: string) => `${primary}\n${secondary}`;

/** Momentarily stands in for an object whose size changed (see `grew`); never seen outside it. */
const RESIZING = {} as CacheObject;

export class CacheStore {
  private readonly lru: LRUCache<string, CacheObject>;
  /** The newest vary rule seen for each primary key. */
  private readonly varyRules = new Map<string, string[]>();
  /** Every stored variant of each primary key. */
  private readonly byPrimary = new Map<string, Set<string>>();
  /** Surrogate key -> full keys of the objects tagged with it. */
  private readonly bySurrogateKey = new Map<string, Set<string>>();
  /** Primary keys whose last response could not be stored: skip waiting on them until then. */
  private readonly hitForPass: LRUCache<string, number>;
  private readonly now: () => number;
  readonly maxObjectBytes: number;
  private evictions = 0;
  private readonly onEvict: (object: CacheObject) => void;
  private readonly onRemove: (object: CacheObject) => void;
  private readonly onSoftPurge: (object: CacheObject) => void;

  constructor(options: StoreOptions) {
    this.now = options.now ?? Date.now;
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? Infinity, options.maxBytes);
    this.onEvict = options.onEvict ?? (() => {});
    this.onRemove = options.onRemove ?? (() => {});
    this.onSoftPurge = options.onSoftPurge ?? (() => {});
    this.lru = new LRUCache<string, CacheObject>({
      maxSize: options.maxBytes,
      sizeCalculation: (object) => Math.max(1, headerBytes(object) + object.body.length),
      noDisposeOnSet: true,
      dispose: (object, key, reason) => {
        this.unindex(key, object);
        // No new reader will find it: its body need only serve those reading it now.
        object.body.release();
        if (reason === "evict") {
          this.evictions++;
          this.onEvict(object);
        }
        this.onRemove(object);
      },
    });
    this.hitForPass = new LRUCache<string, number>({ max: 100_000 });
  }

  /** The stored variant matching a request, if any and not past its deletion time. */
  lookup(primary: string, requestHeaders: Headers): CacheObject | undefined {
    const rule = this.varyRules.get(primary);
    if (!rule) return undefined;
    const key = fullKey(primary, secondaryKey(rule, requestHeaders));
    const object = this.lru.get(key);
    if (object && this.now() >= object.deleteAt) {
      this.lru.delete(key);
      return undefined;
    }
    return object;
  }

  /** The request header names a primary key's stored variants vary on, when any is stored (what `lookup` starts from). */
  varyRuleFor(primary: string): readonly string[] | undefined {
    return this.varyRules.get(primary);
  }

  /** Stores an object, replacing the variant it matches. False when it is too large to keep. */
  insert(object: CacheObject): boolean {
    const size = headerBytes(object) + Math.max(object.body.length, object.declaredLength ?? 0);
    if (size > this.maxObjectBytes) return false;
    const key = fullKey(object.primary, object.secondary);
    const previous = this.lru.peek(key);
    if (previous && previous !== object) this.lru.delete(key);
    this.varyRules.set(object.primary, object.varyRule);
    this.lru.set(key, object);
    this.index(key, object);
    this.hitForPass.delete(object.primary);
    return true;
  }

  /**
   * Accounts for an object's body having grown. False when it has outgrown
   * the largest object the store keeps; it is then dropped from the store.
   */
  grew(object: CacheObject): boolean {
    const key = fullKey(object.primary, object.secondary);
    if (this.lru.peek(key) !== object) return false;
    if (headerBytes(object) + object.body.length > this.maxObjectBytes) {
      this.lru.delete(key);
      return false;
    }
    // lru-cache re-measures an entry only when its value changes: a stand-in first, then the
    // object again, recomputes its size and evicts others as needed (noDisposeOnSet: no dispose).
    this.lru.set(key, RESIZING, { size: 1 });
    this.lru.set(key, object);
    return true;
  }

  /** Whether this very object is stored (not replaced or dropped). */
  holds(object: CacheObject): boolean {
    return this.lru.peek(fullKey(object.primary, object.secondary)) === object;
  }

  remove(object: CacheObject): void {
    const key = fullKey(object.primary, object.secondary);
    if (this.lru.peek(key) === object) this.lru.delete(key);
  }

  /**
   * Changes a stored object in place (its headers, lifetimes, surrogate keys:
   * not its primary or secondary key, nor its body), keeping the surrogate-key
   * index and its size in step. Its body stays with it, for readers to come.
   * False, with nothing changed, when the object is not stored.
   */
  refresh(object: CacheObject, change: (object: CacheObject) => void): boolean {
    const key = fullKey(object.primary, object.secondary);
    if (this.lru.peek(key) !== object) return false;
    for (const surrogate of object.surrogateKeys) {
      const tagged = this.bySurrogateKey.get(surrogate);
      tagged?.delete(key);
      if (tagged?.size === 0) this.bySurrogateKey.delete(surrogate);
    }
    change(object);
    this.index(key, object);
    // Re-measured as in `grew` (no dispose: the object stays).
    this.lru.set(key, RESIZING, { size: 1 });
    this.lru.set(key, object);
    return true;
  }

  /** The vary rule lookups of a primary key use now (that of its newest stored variant), if any. */
  varyRuleOf(primary: string): readonly string[] | undefined {
    return this.varyRules.get(primary);
  }

  markHitForPass(primary: string, seconds: number): void {
    this.hitForPass.set(primary, this.now() + seconds * 1000);
  }

  isHitForPass(primary: string): boolean {
    if (this.hitForPass.size === 0) return false;
    const until = this.hitForPass.get(primary);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.hitForPass.delete(primary);
    return false;
  }

  // ---- purging ----

  /** Purges every variant of a primary key. Soft: marks them stale instead. */
  purgePrimary(primary: string, soft: boolean): number {
    this.hitForPass.delete(primary);
    return this.purgeKeys([...(this.byPrimary.get(primary) ?? [])], soft);
  }

  /** Purges the objects tagged with any of the surrogate keys, through the reverse index. */
  purgeSurrogateKeys(keys: readonly string[], soft: boolean): number {
    const targets = new Set<string>();
    for (const key of keys) for (const target of this.bySurrogateKey.get(key) ?? []) targets.add(target);
    return this.purgeKeys([...targets], soft);
  }

  purgeAll(): number {
    const count = this.lru.size;
    this.lru.clear();
    this.hitForPass.clear();
    return count;
  }

  private purgeKeys(keys: string[], soft: boolean): number {
    let count = 0;
    const now = this.now();
    for (const key of keys) {
      const object = this.lru.peek(key);
      if (!object) continue;
      count++;
      if (soft) {
        markStale(object, now);
        this.onSoftPurge(object);
      } else this.lru.delete(key);
    }
    return count;
  }

  // ---- bookkeeping ----

  private index(key: string, object: CacheObject): void {
    let variants = this.byPrimary.get(object.primary);
    if (!variants) this.byPrimary.set(object.primary, (variants = new Set()));
    variants.add(key);
    for (const surrogate of object.surrogateKeys) {
      let tagged = this.bySurrogateKey.get(surrogate);
      if (!tagged) this.bySurrogateKey.set(surrogate, (tagged = new Set()));
      tagged.add(key);
    }
  }

  private unindex(key: string, object: CacheObject): void {
    const variants = this.byPrimary.get(object.primary);
    if (variants) {
      variants.delete(key);
      if (variants.size === 0) {
        this.byPrimary.delete(object.primary);
        this.varyRules.delete(object.primary);
      }
    }
    for (const surrogate of object.surrogateKeys) {
      const tagged = this.bySurrogateKey.get(surrogate);
      if (!tagged) continue;
      tagged.delete(key);
      if (tagged.size === 0) this.bySurrogateKey.delete(surrogate);
    }
  }

  /** Every stored object (for persistence and inspection). */
  *objects(): IterableIterator<CacheObject> {
    yield* this.lru.values();
  }

  stats(): StoreStats {
    return { objects: this.lru.size, bytes: this.lru.calculatedSize, evictions: this.evictions };
  }
}

/**
 * Soft purge: the object becomes stale now but keeps its stale-while-
 * revalidate and stale-if-error windows, so it is served stale while one
 * request revalidates it.
 */
export function markStale(object: CacheObject, now: number): void {
  if (object.lifetimes.staleAt <= now) return;
  const { staleWhileRevalidate, staleIfError, mustRevalidate } = object.freshness;
  object.lifetimes = {
    staleAt: now,
    staleWhileRevalidateUntil: mustRevalidate ? now : now + staleWhileRevalidate * 1000,
    staleIfErrorUntil: mustRevalidate ? now : now + staleIfError * 1000,
  };
}
