// The readthrough cache in front of every backend send: look up, serve
// fresh or stale objects, collapse concurrent misses onto one origin request,
// revalidate with conditional requests, store what may be stored, and say
// what happened in X-Cache, Age and Cache-Status (RFC 9211).
import type { Readable } from "node:stream";
import type { RequestHead } from "../engine/protocol.ts";
import { Headers } from "../session/headers.ts";
import { GrowingBody } from "./growing-body.ts";
import { CacheMetrics } from "./metrics.ts";
import {
  type CacheOverride,
  conditionalHeaders,
  currentAge,
  freshness,
  HIT_FOR_PASS_SECONDS,
  hasValidators,
  headersToForward,
  headersToStore,
  invalidationTargets,
  lifetimes,
  mergeNotModified,
  notModifiedSelects,
  primaryKey,
  secondaryKey,
  shouldLookUp,
  storability,
  surrogateKeys,
  usability,
  varyRule,
  withDate,
} from "./policy.ts";
import type { CacheObject, CacheStore } from "./store.ts";

/** A response as the origin (or the cache) gives it. Headers are a flat [name, value, ...] list. */
export interface OriginResponse {
  status: number;
  headers: string[];
  body: Readable | null;
  /** Body length when known, else -1. */
  length: number;
  trailers: () => string[];
}

/** Sends the request to the origin; `withBody` is false for requests the cache makes itself. */
export type Origin = (head: RequestHead, options: { withBody: boolean }) => Promise<OriginResponse>;

export interface CacheRequest {
  head: RequestHead;
  override: CacheOverride;
}

/** Namespace of HTTP objects in the store (the Core Cache API has its own). */
const HTTP = "http:";
/** How many times a request re-runs its lookup after waiting on another's fetch. */
const MAX_WAITS = 3;

type FetchOutcome = "stored" | "uncacheable" | "failed";

/** An origin fetch others can wait on. */
interface InFlight {
  done: Promise<FetchOutcome>;
}

export interface ReadthroughOptions {
  store: CacheStore;
  now?: () => number;
  metrics?: CacheMetrics;
  /** Reports errors of work no client waits on (background revalidations). */
  onBackgroundError?: (error: Error) => void;
  /** Called when a stored object is complete, or refreshed by a revalidation (persistence writes it). */
  onStored?: (object: CacheObject) => void;
}

export class Readthrough {
  readonly store: CacheStore;
  readonly metrics: CacheMetrics;
  private readonly now: () => number;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly onBackgroundError: (error: Error) => void;
  private readonly onStored: (object: CacheObject) => void;

  constructor(options: ReadthroughOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics ?? new CacheMetrics();
    this.onBackgroundError = options.onBackgroundError ?? (() => {});
    this.onStored = options.onStored ?? (() => {});
  }

  async send(request: CacheRequest, origin: Origin): Promise<OriginResponse> {
    const { head, override } = request;
    const requestHeaders = Headers.fromFlat(head.headers);
    if (!shouldLookUp(head.method, override)) return this.pass(request, requestHeaders, origin, "bypass");
    const primary = HTTP + primaryKey(head.uri, requestHeaders);
    for (let waits = 0; ; waits++) {
      if (this.store.isHitForPass(primary)) return this.pass(request, requestHeaders, origin, "uri-miss; detail=hit-for-pass");
      const object = this.store.lookup(primary, requestHeaders);
      const now = this.now();
      if (object) {
        const use = usability(object.lifetimes, now);
        if (use === "fresh") return this.serve(object, head.method, "hit", waits > 0);
        if (use === "stale-while-revalidate") {
          // RFC 5861 §3: serve stale, and revalidate in the background — once, however many are served meanwhile.
          this.revalidateInBackground(primary, object, head, override, origin);
          this.metrics.staleServed++;
          return this.serve(object, head.method, "stale-while-revalidate", waits > 0);
        }
      }
      const key = collapseKey(primary, object);
      const pending = this.inFlight.get(key);
      if (pending && waits < MAX_WAITS) {
        // Request collapsing: wait for the request already on its way, then look again.
        this.metrics.collapsed++;
        const outcome = await pending.done;
        if (outcome === "uncacheable") return this.pass(request, requestHeaders, origin, "uri-miss; detail=collapsed-uncacheable");
        continue;
      }
      return this.fetchAndStore(key, primary, object, request, requestHeaders, origin);
    }
  }

  /** Sends without caching; invalidates after unsafe methods (RFC 9111 §4.4). */
  private async pass(request: CacheRequest, requestHeaders: Headers, origin: Origin, fwd: string): Promise<OriginResponse> {
    this.metrics.passes++;
    this.metrics.originRequests++;
    const response = await origin(request.head, { withBody: true });
    for (const target of invalidationTargets(request.head.method, response.status, request.head.uri, requestHeaders, Headers.fromFlat(response.headers))) {
      this.metrics.purged += this.store.purgePrimary(HTTP + target, false);
    }
    return withCacheHeaders(response, [["x-cache", "PASS"], ["cache-status", `Outpost; fwd=${fwd}`]]);
  }

  /** This request fetches for everyone waiting on `key`. */
  private async fetchAndStore(
    key: string,
    primary: string,
    stale: CacheObject | undefined,
    request: CacheRequest,
    requestHeaders: Headers,
    origin: Origin,
  ): Promise<OriginResponse> {
    let settle!: (outcome: FetchOutcome) => void;
    const entry: InFlight = { done: new Promise((resolve) => (settle = resolve)) };
    this.inFlight.set(key, entry);
    let outcome: FetchOutcome = "failed";
    try {
      const result = await this.fetchFromOrigin(primary, stale, request, requestHeaders, origin, { withBody: true });
      outcome = result.outcome;
      return result.response;
    } finally {
      // A request that gave up waiting may have put its own fetch in our place: leave that one.
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
      settle(outcome);
    }
  }

  private revalidateInBackground(primary: string, stale: CacheObject, head: RequestHead, override: CacheOverride, origin: Origin): void {
    const requestHeaders = Headers.fromFlat(head.headers);
    const key = collapseKey(primary, stale);
    if (this.inFlight.has(key)) return;
    let settle!: (outcome: FetchOutcome) => void;
    const entry: InFlight = { done: new Promise((resolve) => (settle = resolve)) };
    this.inFlight.set(key, entry);
    let outcome: FetchOutcome = "failed";
    const revalidation = this.fetchFromOrigin(primary, stale, { head: { ...head, method: "GET" }, override }, requestHeaders, origin, {
      withBody: false,
    })
      .then((result) => {
        outcome = result.outcome;
        // Nobody reads this response: only the stored copy matters.
        result.response.body?.resume();
      })
      .catch((error: Error) => this.onBackgroundError(error))
      .finally(() => {
        if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
        settle(outcome);
      });
    void revalidation;
  }

  /**
   * Fetches from the origin (conditionally when a stale object has
   * validators), stores what may be stored, and answers. Serves the stale
   * object instead when the origin fails within stale-if-error.
   */
  private async fetchFromOrigin(
    primary: string,
    stale: CacheObject | undefined,
    request: CacheRequest,
    requestHeaders: Headers,
    origin: Origin,
    options: { withBody: boolean },
  ): Promise<{ response: OriginResponse; outcome: FetchOutcome }> {
    const { head, override } = request;
    // RFC 9111 §4.3.1: revalidate a stored response with its validators.
    const validators = stale && hasValidators(stale.headers) && stale.status === 200 ? conditionalHeaders(stale.headers) : [];
    const conditional = validators.length > 0 && !head.headers.some((_, i) => i % 2 === 0 && /^if-/i.test(head.headers[i]));
    const sent: RequestHead = conditional ? { ...head, headers: [...head.headers, ...validators.flat()] } : head;
    const requestTime = this.now();
    this.metrics.originRequests++;
    this.metrics.misses++;
    let response: OriginResponse;
    try {
      response = await origin(sent, options);
    } catch (error) {
      // RFC 5861 §4: stale-if-error covers an origin that cannot be reached.
      if (stale && this.now() < stale.lifetimes.staleIfErrorUntil) return { response: this.serveStaleIfError(stale, head.method), outcome: "failed" };
      throw error;
    }
    const responseTime = this.now();
    const headers = Headers.fromFlat(response.headers);
    // RFC 5861 §4: and an error status (5xx).
    if (response.status >= 500 && stale && responseTime < stale.lifetimes.staleIfErrorUntil) {
      response.body?.resume();
      return { response: this.serveStaleIfError(stale, head.method), outcome: "failed" };
    }
    if (response.status === 304 && conditional && stale && !notModifiedSelects(stale.headers, headers)) {
      // RFC 9111 §4.3.4: a 304 for another representation updates nothing; ask again, unconditionally.
      response.body?.resume();
      this.store.remove(stale);
      this.metrics.misses--; // counted again by the retry
      return this.fetchFromOrigin(primary, undefined, request, requestHeaders, origin, options);
    }
    if (response.status === 304 && conditional && stale) {
      // RFC 9111 §4.3.4: freshen the stored response with the 304's headers.
      response.body?.resume();
      const merged = mergeNotModified(stale.headers, withDate(headers, responseTime));
      const fresh = freshness(merged, override, { requestTime, responseTime });
      stale.headers = headersToStore(merged);
      stale.freshness = fresh;
      stale.responseTime = responseTime;
      stale.lifetimes = lifetimes(fresh, responseTime);
      stale.deleteAt = deleteAt(stale);
      this.metrics.revalidated++;
      this.metrics.misses--;
      if (this.store.insert(stale)) this.onStored(stale);
      return { response: this.serve(stale, head.method, "revalidated", false), outcome: "stored" };
    }
    const verdict = storability(head.method, requestHeaders, response.status, headers, override);
    if (!verdict.store) {
      // The response forbids storing: whatever was stored for this request is superseded. Otherwise
      // (a HEAD, an error status, a 304 to the client's own conditional) the stored copy stays usable.
      if (verdict.hitForPass) this.store.markHitForPass(primary, HIT_FOR_PASS_SECONDS);
      if (stale && verdict.hitForPass) this.store.remove(stale);
      const note = `fwd=${stale ? "stale" : "uri-miss"}; fwd-status=${response.status}; detail="${verdict.reason}"`;
      return { response: withCacheHeaders(response, [["x-cache", "MISS"], ["cache-status", `Outpost; ${note}`]]), outcome: "uncacheable" };
    }
    // RFC 9110 §6.6.1: a cached response without a Date is dated on receipt.
    const dated = withDate(headers, responseTime);
    const fresh = freshness(dated, override, { requestTime, responseTime });
    const rule = varyRule(dated);
    const object: CacheObject = {
      primary,
      varyRule: rule,
      secondary: secondaryKey(rule, requestHeaders),
      status: response.status,
      headers: headersToStore(dated),
      body: new GrowingBody(),
      userMetadata: new Uint8Array(0),
      surrogateKeys: surrogateKeys(headers, override),
      freshness: fresh,
      responseTime,
      lifetimes: lifetimes(fresh, responseTime),
      deleteAt: 0,
      hits: 0,
      declaredLength: response.length >= 0 ? response.length : null,
      sensitive: override.pci,
    };
    object.deleteAt = deleteAt(object);
    if (!this.store.insert(object)) {
      // Too large to keep: this response goes through, and others wait no longer.
      return { response: withCacheHeaders(response, [["x-cache", "MISS"], ["cache-status", `Outpost; fwd=uri-miss; detail="too large to store"`]]), outcome: "uncacheable" };
    }
    // A new Vary put the object under another secondary key: the stale variant it replaces goes.
    if (stale) this.store.remove(stale);
    this.fill(object, response);
    // The client whose request fetched it gets every field, those kept out of the stored copy
    // (no-cache="…", private="…": RFC 9111 §5.2.2.4, §5.2.2.7) included.
    const forwarded = headersToForward(dated);
    return { response: this.serve(object, head.method, stale ? "stale-miss" : "miss", false, forwarded), outcome: "stored" };
  }

  /** Copies the origin's body into the stored object as it arrives; readers follow along. */
  private fill(object: CacheObject, response: OriginResponse): void {
    const source = response.body;
    const end = () => {
      object.body.end(response.trailers());
      this.onStored(object);
    };
    if (!source) return end();
    source.on("data", (chunk: Uint8Array) => {
      const more = object.body.append(chunk);
      // Outgrown what the store keeps: keep streaming to the readers it has, but drop it.
      if (!this.store.grew(object)) object.body.release();
      if (object.body.unwanted) {
        source.destroy();
        return;
      }
      // Once released, the origin is read no faster than the slowest reader.
      if (!more) {
        source.pause();
        object.body.whenDrained(() => source.resume());
      }
    });
    source.on("end", end);
    source.on("error", (error: Error) => {
      // A body cut short must never be served as complete (nothing poisoned).
      object.body.fail(error);
      this.store.remove(object);
    });
  }

  private serveStaleIfError(object: CacheObject, method: string): OriginResponse {
    this.metrics.staleServed++;
    return this.serve(object, method, "stale-if-error", false);
  }

  /** A response from a stored object, with the headers that say how it was served. */
  private serve(
    object: CacheObject,
    method: string,
    how: "hit" | "stale-while-revalidate" | "stale-if-error" | "miss" | "stale-miss" | "revalidated",
    collapsed: boolean,
    /** The origin's fields, for the client whose request fetched the object; others get the stored ones. */
    fields: Headers = object.headers,
  ): OriginResponse {
    const now = this.now();
    const isHit = how === "hit" || how === "stale-while-revalidate" || how === "stale-if-error";
    if (isHit) {
      object.hits++;
      this.metrics.hits++;
      if (method !== "HEAD") this.metrics.hitBytes += object.declaredLength ?? object.body.length;
    }
    const ttl = Math.round((object.lifetimes.staleAt - now) / 1000);
    const swr = Math.max(0, Math.round((object.lifetimes.staleWhileRevalidateUntil - Math.max(now, object.lifetimes.staleAt)) / 1000));
    const sie = Math.max(0, Math.round((object.lifetimes.staleIfErrorUntil - Math.max(now, object.lifetimes.staleAt)) / 1000));
    const status = {
      hit: `hit; ttl=${ttl}`,
      "stale-while-revalidate": `hit; ttl=${ttl}; fwd=stale; detail=stale-while-revalidate`,
      "stale-if-error": `hit; ttl=${ttl}; detail=stale-if-error`,
      miss: `fwd=uri-miss; stored`,
      "stale-miss": `fwd=stale; fwd-status=${object.status}; stored`,
      revalidated: `fwd=stale; fwd-status=304; stored`,
    }[how];
    const headers = fields.clone();
    headers.set("age", String(currentAge(object.freshness, object.responseTime, now)));
    headers.set("x-cache", isHit ? "HIT" : "MISS");
    headers.set("x-cache-hits", String(object.hits));
    headers.set("cache-status", `Outpost; ${status}${collapsed ? "; collapsed" : ""}`);
    headers.set("x-cache-debug", `ttl=${ttl}; swr=${swr}; sie=${sie}; age=${headers.get("age")}`);
    const length = object.declaredLength ?? (object.body.complete ? object.body.length : -1);
    return {
      status: object.status,
      headers: headers.toFlat(),
      body: method === "HEAD" ? null : object.body.readable(),
      length: method === "HEAD" ? 0 : length,
      trailers: () => object.body.trailers,
    };
  }

  /** Purge by URL (host and path), as the admin API and `PURGE` requests do. */
  purgeUrl(hostAndPath: string, soft: boolean): number {
    const count = this.store.purgePrimary(HTTP + hostAndPath, soft);
    this.metrics.purged += count;
    return count;
  }

  purgeSurrogateKeys(keys: readonly string[], soft: boolean): number {
    const count = this.store.purgeSurrogateKeys(keys, soft);
    this.metrics.purged += count;
    return count;
  }

  purgeAll(): number {
    const count = this.store.purgeAll();
    this.metrics.purged += count;
    return count;
  }
}

/**
 * Requests that would be answered by the same object wait on the same fetch.
 * Before anything is stored, every request for the URL waits on the first:
 * the variant it fetches is unknown until its response says what it varies on.
 */
function collapseKey(primary: string, object: CacheObject | undefined): string {
  return object ? `${primary}\n${object.secondary}` : primary;
}

/**
 * How long to keep an object: while it may be served, and for a day past
 * that when it has validators, so it can be revalidated cheaply.
 */
function deleteAt(object: CacheObject): number {
  const { staleAt, staleWhileRevalidateUntil, staleIfErrorUntil } = object.lifetimes;
  const servable = Math.max(staleAt, staleWhileRevalidateUntil, staleIfErrorUntil);
  return hasValidators(object.headers) ? servable + 86_400_000 : servable;
}

function withCacheHeaders(response: OriginResponse, set: [string, string][]): OriginResponse {
  const headers = Headers.fromFlat(response.headers);
  for (const [name, value] of set) headers.set(name, value);
  return { ...response, headers: headers.toFlat() };
}
