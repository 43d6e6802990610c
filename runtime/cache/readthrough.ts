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
  primaryKeyFor,
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
  /**
   * The whole body, when it is complete in memory (only from `sendStored`):
   * `body` is then null, and the caller writes these chunks as they are.
   */
  chunks?: readonly Uint8Array[];
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
      if (object) {
        const served = this.serveStored(object, primary, request, origin, waits > 0, false);
        if (served) return served;
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

  /**
   * What `send` answers when the stored object can be used at once (fresh, or
   * stale within stale-while-revalidate), without a promise; null when `send`
   * has more to do (a miss, a pass, a revalidation, a wait), and nothing has
   * been done or counted then. A complete body comes as `chunks`.
   */
  sendStored(request: CacheRequest, origin: Origin): OriginResponse | null {
    const { head, override } = request;
    if (!shouldLookUp(head.method, override)) return null;
    // As `send` does, without making a header map unless a stored response varies on the request's fields.
    const primary = HTTP + primaryKeyFor(head.uri, firstValue(head.headers, "host"));
    if (this.store.isHitForPass(primary)) return null;
    const rule = this.store.varyRuleFor(primary);
    if (!rule) return null;
    const object = this.store.lookup(primary, rule.length === 0 ? NO_FIELDS : Headers.fromFlat(head.headers));
    return object ? this.serveStored(object, primary, request, origin, false, true) : null;
  }

  /** Serves a stored object that is fresh, or stale within stale-while-revalidate (revalidating it in the background); else null. */
  private serveStored(object: CacheObject, primary: string, request: CacheRequest, origin: Origin, collapsed: boolean, whole: boolean): OriginResponse | null {
    const { head } = request;
    const use = usability(object.lifetimes, this.now());
    if (use === "fresh") return this.serve(object, head.method, "hit", collapsed, object.headers, whole);
    if (use === "stale-while-revalidate") {
      // RFC 5861 §3: serve stale, and revalidate in the background — once, however many are served meanwhile.
      this.revalidateInBackground(primary, object, head, request.override, origin);
      this.metrics.staleServed++;
      return this.serve(object, head.method, "stale-while-revalidate", collapsed, object.headers, whole);
    }
    return null;
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
    /** Give a complete body as `chunks` instead of a stream. */
    whole = false,
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
    const status = cacheStatus(how, ttl, object.status);
    const age = String(currentAge(object.freshness, object.responseTime, now));
    const headers = servedHeaders(fields, [
      age,
      isHit ? "HIT" : "MISS",
      String(object.hits),
      `Outpost; ${status}${collapsed ? "; collapsed" : ""}`,
      `ttl=${ttl}; swr=${swr}; sie=${sie}; age=${age}`,
    ], fields === object.headers);
    const length = object.declaredLength ?? (object.body.complete ? object.body.length : -1);
    const chunks = whole && method !== "HEAD" ? object.body.whole() : null;
    if (chunks) return { status: object.status, headers, body: null, length: object.body.length, trailers: () => object.body.trailers, chunks };
    return {
      status: object.status,
      headers,
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

/** What Cache-Status (RFC 9211) says of a response served from a stored object, after "Outpost; ". */
function cacheStatus(how: "hit" | "stale-while-revalidate" | "stale-if-error" | "miss" | "stale-miss" | "revalidated", ttl: number, status: number): string {
  switch (how) {
    case "hit":
      return `hit; ttl=${ttl}`;
    case "stale-while-revalidate":
      return `hit; ttl=${ttl}; fwd=stale; detail=stale-while-revalidate`;
    case "stale-if-error":
      return `hit; ttl=${ttl}; detail=stale-if-error`;
    case "miss":
      return "fwd=uri-miss; stored";
    case "stale-miss":
      return `fwd=stale; fwd-status=${status}; stored`;
    case "revalidated":
      return "fwd=stale; fwd-status=304; stored";
  }
}

/** The request fields `lookup` reads when the stored responses vary on none. Never changed. */
const NO_FIELDS = new Headers();

/** The first value of a field in a flat list (names in any case), as `Headers.get` gives it. */
function firstValue(flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i];
    if (field.length === name.length && (field === name || field.toLowerCase() === name)) return flat[i + 1];
  }
  return undefined;
}

/** The fields the cache sets on every response it serves from a stored object, in this order. */
const SERVED_FIELDS = ["age", "x-cache", "x-cache-hits", "cache-status", "x-cache-debug"] as const;

/** The flat list of a stored object's fields, with where each of SERVED_FIELDS goes (-1: at the end). */
interface ServedTemplate {
  flat: string[];
  at: number[];
}

/**
 * Templates of the stored fields, made on an object's first hit. Stored
 * fields are replaced as a whole (a revalidation, an update), never changed
 * in place, so a template stays true for as long as its fields live.
 */
const templates = new WeakMap<Headers, ServedTemplate>();

function template(fields: Headers, keep: boolean): ServedTemplate {
  let made = keep ? templates.get(fields) : undefined;
  if (made) return made;
  const flat: string[] = [];
  const at = SERVED_FIELDS.map(() => -1);
  for (const name of fields.names()) {
    const served = SERVED_FIELDS.indexOf(name as (typeof SERVED_FIELDS)[number]);
    if (served >= 0) {
      // In place of every stored value, one: as `Headers.set` does.
      at[served] = flat.length;
      flat.push(name, "");
      continue;
    }
    for (const value of fields.getAll(name)) flat.push(name, value);
  }
  made = { flat, at };
  if (keep) templates.set(fields, made);
  return made;
}

/**
 * The flat list of `fields` with each of SERVED_FIELDS set to its value: in
 * place of the stored value when there is one, else at the end, in order
 * (what setting each on a copy and flattening it gives, without the copy).
 * The stored fields' template is kept; an origin's fields (the response
 * that fetched the object, `stored` false) are used once and not kept.
 */
function servedHeaders(fields: Headers, values: readonly string[], stored: boolean): string[] {
  const { flat: base, at } = template(fields, stored);
  const flat = base.slice();
  for (let i = 0; i < SERVED_FIELDS.length; i++) {
    if (at[i] >= 0) flat[at[i] + 1] = values[i];
    else flat.push(SERVED_FIELDS[i], values[i]);
  }
  return flat;
}

function withCacheHeaders(response: OriginResponse, set: [string, string][]): OriginResponse {
  const headers = Headers.fromFlat(response.headers);
  for (const [name, value] of set) headers.set(name, value);
  return { ...response, headers: headers.toFlat() };
}
