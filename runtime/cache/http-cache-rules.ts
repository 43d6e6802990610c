// The HTTP Cache API's suggestions, as pure functions of requests, stored
// objects, responses and the time: the write options a response suggests,
// the storage action for a backend response, and how a stored response is
// adjusted for the client that looked it up. The RFC 9111 rules themselves
// are policy.ts's; this file applies them to the API's shapes.
import type { Headers } from "../session/headers.ts";
import { notModified, requestedRange } from "./client-conditions.ts";
import {
  type Freshness,
  freshness,
  hasValidators,
  headersToStore,
  type Lifetimes,
  lifetimes,
  mergeNotModified,
  NO_OVERRIDE,
  storability,
  surrogateKeys,
  varyRule,
  withDate,
} from "./policy.ts";
import type { CacheObject } from "./store.ts";

/** `$http_storage_action`. */
export const StorageAction = { INSERT: 0, UPDATE: 1, DO_NOT_STORE: 2, RECORD_UNCACHEABLE: 3 } as const;
export type StorageAction = (typeof StorageAction)[keyof typeof StorageAction];

/** `http_cache_write_options` as the guest gave them (durations in ns; unset ones at their documented defaults). */
export interface WriteOptions {
  maxAgeNs: bigint;
  /** Lower-case header names; null when the guest did not set one. */
  varyRule: string[] | null;
  initialAgeNs: bigint;
  staleWhileRevalidateNs: bigint;
  staleIfErrorNs: bigint;
  surrogateKeys: string[];
  /** Body length, when the guest declared it. */
  length: number | null;
  sensitive: boolean;
}

/** The write options a response suggests (`get_suggested_cache_options`). */
export interface Suggestion {
  maxAgeNs: bigint;
  initialAgeNs: bigint;
  staleWhileRevalidateNs: bigint;
  staleIfErrorNs: bigint;
  /** Space-separated header names. */
  varyRule: string;
  /** Space-separated surrogate keys. */
  surrogateKeys: string;
  length: number | null;
  sensitive: boolean;
}

/** The request a transaction looked up. */
export interface LookedUp {
  method: string;
  headers: Headers;
}

export const ns = (seconds: number): bigint => BigInt(Math.max(0, Math.round(seconds * 1e9)));
const seconds = (ns: bigint): number => Number(ns) / 1e9;

/**
 * The write options for a response, from its headers (policy.ts's
 * freshness: Surrogate-Control, CDN-Cache-Control, s-maxage, max-age,
 * Expires, else the platform's default TTL). `max_age` is the whole
 * freshness lifetime and `initial_age` the age the response arrived with, so
 * the object stays fresh for their difference; directives that forbid stale
 * use (no-cache, must-revalidate) show as a lifetime of the initial age and
 * zero stale windows. The surrogate keys are the response's Surrogate-Key
 * ones and, as on the platform, one naming the cache key (its hex), so that
 * every object can be purged by a key.
 */
export function suggestWriteOptions(headers: Headers, cacheKey: Uint8Array, now: number): Suggestion {
  const f = freshness(headers, NO_OVERRIDE, { requestTime: now, responseTime: now });
  const l = lifetimes(f, now);
  const length = Number(headers.get("content-length"));
  return {
    maxAgeNs: ns(f.initialAge + (l.staleAt - now) / 1000),
    initialAgeNs: ns(f.initialAge),
    staleWhileRevalidateNs: ns((l.staleWhileRevalidateUntil - l.staleAt) / 1000),
    staleIfErrorNs: ns((l.staleIfErrorUntil - l.staleAt) / 1000),
    varyRule: varyRule(headers).join(" "),
    surrogateKeys: [...surrogateKeys(headers, NO_OVERRIDE), Buffer.from(cacheKey).toString("hex").toUpperCase()].join(" "),
    length: headers.has("content-length") && Number.isSafeInteger(length) && length >= 0 ? length : null,
    sensitive: false,
  };
}

/** What `prepare_response_for_storage` recommends, with the response to store. */
export interface Prepared {
  action: StorageAction;
  status: number;
  headers: Headers;
}

/**
 * The storage action for a backend response to a looked-up request: a 304
 * answering the revalidation of a stored response updates it (RFC 9111
 * §4.3.4, its headers merged into the stored ones); a storable response
 * (RFC 9111 §3, the platform's statuses, no Set-Cookie) is inserted; one
 * that must never be stored is recorded as uncacheable so that later lookups
 * skip collapsing; anything else is simply not stored.
 */
export function prepareForStorage(request: LookedUp, stored: CacheObject | null, status: number, headers: Headers, now: number): Prepared {
  // RFC 9110 §6.6.1: a cache that stores a response without a Date adds one.
  const dated = withDate(headers, now);
  if (status === 304) {
    if (stored) return { action: StorageAction.UPDATE, status: stored.status, headers: headersToStore(mergeNotModified(stored.headers, dated)) };
    return { action: StorageAction.DO_NOT_STORE, status, headers };
  }
  const verdict = storability(request.method, request.headers, status, headers, NO_OVERRIDE);
  if (verdict.store) return { action: StorageAction.INSERT, status, headers: headersToStore(dated) };
  return { action: verdict.hitForPass ? StorageAction.RECORD_UNCACHEABLE : StorageAction.DO_NOT_STORE, status, headers };
}

/** Freshness and lifetimes of an object written with these options at `now`. */
export function writtenFreshness(options: WriteOptions, now: number): { freshness: Freshness; lifetimes: Lifetimes } {
  const f: Freshness = {
    initialAge: seconds(options.initialAgeNs),
    lifetime: seconds(options.maxAgeNs),
    staleWhileRevalidate: seconds(options.staleWhileRevalidateNs),
    staleIfError: seconds(options.staleIfErrorNs),
    noCache: false,
    mustRevalidate: false,
  };
  return { freshness: f, lifetimes: lifetimes(f, now) };
}

/**
 * How long to keep an object: while it may be served, and a day past that
 * when it has validators so it can be revalidated cheaply (as the readthrough
 * cache keeps its own objects).
 */
export function retainUntil(object: Pick<CacheObject, "lifetimes" | "headers">): number {
  const { staleAt, staleWhileRevalidateUntil, staleIfErrorUntil } = object.lifetimes;
  const servable = Math.max(staleAt, staleWhileRevalidateUntil, staleIfErrorUntil);
  return hasValidators(object.headers) ? servable + 86_400_000 : servable;
}

/** An object's length when known: declared, or once its body is complete. */
export function knownLength(object: CacheObject): number | null {
  return object.declaredLength ?? (object.body.complete ? object.body.length : null);
}

// ---- adjusting a stored response for the client ----

/** A stored response as the client gets it. */
export interface ClientView {
  status: number;
  headers: Headers;
  /** The byte range of the stored body to send (end exclusive), or null for all of it. */
  range: [number, number] | null;
  /** No body at all (HEAD, 304, 416). */
  empty: boolean;
}

/**
 * `transform_for_client`: the stored response adjusted to the looked-up
 * request: Age (RFC 9111 §5.1), the client's own validators answered with
 * 304 (RFC 9111 §4.3.2, RFC 9110 §13.2.2), and a single byte range answered
 * with 206 or 416 (RFC 9110 §14). Without it, the response is as stored.
 */
export function forClient(object: CacheObject, request: LookedUp, transform: boolean, now: number): ClientView {
  const headers = object.headers.clone();
  const plain: ClientView = { status: object.status, headers, range: null, empty: request.method === "HEAD" };
  if (!transform) return plain;
  headers.set("age", String(Math.max(0, Math.floor(object.freshness.initialAge + (now - object.responseTime) / 1000))));
  if (object.status !== 200) return plain;
  if (notModified(request.headers, headers)) {
    headers.delete("content-length");
    return { status: 304, headers, range: null, empty: true };
  }
  const length = knownLength(object);
  const range = request.method === "GET" && length !== null ? requestedRange(request.headers, headers, length) : undefined;
  if (range === undefined) return plain;
  if (range === null) {
    headers.set("content-range", `bytes */${length}`);
    headers.delete("content-length");
    return { status: 416, headers, range: null, empty: true };
  }
  headers.set("content-range", `bytes ${range[0]}-${range[1] - 1}/${length}`);
  headers.set("content-length", String(range[1] - range[0]));
  return { status: 206, headers, range, empty: false };
}
