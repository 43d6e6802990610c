// The HTTP caching rules, as pure functions of requests, responses, the
// guest's cache override and the time. No I/O and no state: the readthrough
// pipeline and the HTTP Cache API both decide with these.
//
// References: RFC 9111 (HTTP Caching), RFC 9110 (HTTP Semantics), RFC 5861
// (stale-while-revalidate, stale-if-error), RFC 9213 (CDN-Cache-Control),
// and the production platform's documented behaviour
// (https://www.fastly.com/documentation/guides/concepts/cache/cache-freshness).
import type { Headers } from "../session/headers.ts";
import { deltaSeconds, type Directives, fieldNames, parseDirectives } from "./directives.ts";

/** The platform caches these statuses by default; anything else is passed. */
export const CACHEABLE_STATUSES: ReadonlySet<number> = new Set([200, 203, 300, 301, 302, 404, 410]);

/** The platform's TTL when a response gives no freshness information. */
export const DEFAULT_TTL_SECONDS = 3600;

/** How long a hit-for-pass marker lasts when the response gave no TTL of its own. */
export const HIT_FOR_PASS_SECONDS = 120;

/** What the guest asked of the cache for one request (`cache_override_v2_set`). */
export interface CacheOverride {
  pass: boolean;
  /** Freshness lifetime in seconds, replacing the response's. */
  ttl: number | null;
  /** stale-while-revalidate in seconds, replacing the response's. */
  staleWhileRevalidate: number | null;
  /** PCI: keep the object out of persistent storage. */
  pci: boolean;
  /** Surrogate keys to add to the object (a Surrogate-Key header value). */
  surrogateKey: string | null;
}

export const NO_OVERRIDE: CacheOverride = { pass: false, ttl: null, staleWhileRevalidate: null, pci: false, surrogateKey: null };

/** The cache directives of a response, from every header that carries them. */
export interface ResponseDirectives {
  cacheControl: Directives;
  surrogateControl: Directives;
  cdnCacheControl: Directives;
}

export function responseDirectives(headers: Headers): ResponseDirectives {
  return {
    cacheControl: parseDirectives(headers.getAll("cache-control")),
    surrogateControl: parseDirectives(headers.getAll("surrogate-control")),
    cdnCacheControl: parseDirectives(headers.getAll("cdn-cache-control")),
  };
}

// ---- requests ----

/**
 * Whether to look a request up in the cache at all. Only GET and HEAD are
 * answered from the cache (RFC 9111 §2: the method must be understood and
 * defined as cacheable; RFC 9110 §9.2.3); a guest's pass override skips it.
 */
export function shouldLookUp(method: string, override: CacheOverride): boolean {
  return !override.pass && (method === "GET" || method === "HEAD");
}

/**
 * The primary cache key: the target URI with its authority (RFC 9111 §2),
 * as the platform keys objects by host and URL.
 */
export function primaryKey(uri: string, headers: Headers): string {
  let host = headers.get("host");
  let pathAndQuery = uri;
  if (!uri.startsWith("/")) {
    try {
      const url = new URL(uri);
      host ??= url.host;
      pathAndQuery = url.pathname + url.search;
    } catch {
      // an unparsable target is keyed as written
    }
  }
  return `${(host ?? "").toLowerCase()}${pathAndQuery}`;
}

// ---- storing ----

export type Storability =
  | { store: true }
  | { store: false; reason: string; /** Record hit-for-pass so later requests skip waiting on this key. */ hitForPass: boolean };

/**
 * Whether a response may be stored (RFC 9111 §3), with the platform's
 * defaults: only its cacheable statuses, never `private` or `no-store`
 * content or responses that set cookies.
 */
export function storability(method: string, requestHeaders: Headers, status: number, headers: Headers, override: CacheOverride): Storability {
  const no = (reason: string, hitForPass = true): Storability => ({ store: false, reason, hitForPass });
  // RFC 9111 §3: the request method must be cacheable; HEAD responses carry no content to store.
  if (method !== "GET") return no(`${method} responses are not stored`, false);
  if (override.pass) return no("pass requested", false);
  // The platform's list of cacheable statuses (RFC 9111 §3: a final status the cache understands).
  if (!CACHEABLE_STATUSES.has(status)) return no(`status ${status} is not cacheable`, false);
  const { cacheControl, surrogateControl, cdnCacheControl } = responseDirectives(headers);
  // RFC 9111 §3 and §5.2.2.5: no-store in the response forbids storing.
  if (cacheControl.has("no-store") || surrogateControl.has("no-store") || cdnCacheControl.has("no-store")) {
    return no("no-store");
  }
  // RFC 9111 §5.2.2.7: a shared cache must not store a private response (unqualified private).
  if (cacheControl.get("private") === true) return no("private");
  // RFC 9111 §4.1: Vary: * never matches a later request.
  if (headers.getAll("vary").some((value) => value.split(",").some((field) => field.trim() === "*"))) return no("Vary: *");
  // The platform does not cache responses that set cookies (a privacy default, RFC 9111 §7.3).
  if (headers.has("set-cookie")) return no("Set-Cookie");
  // RFC 9111 §3.5: responses to requests with Authorization only with public, must-revalidate or s-maxage.
  if (requestHeaders.has("authorization") && !["public", "must-revalidate", "s-maxage"].some((d) => cacheControl.has(d))) {
    return no("request carried Authorization", false);
  }
  return { store: true };
}

// ---- freshness ----

/** When an object's freshness runs out, and how long it may be used stale. All times in ms since the epoch. */
export interface Freshness {
  /** Age of the response when it was received, in seconds (RFC 9111 §4.2.3 corrected_initial_age). */
  initialAge: number;
  /** Freshness lifetime in seconds (RFC 9111 §4.2.1). */
  lifetime: number;
  /** stale-while-revalidate window in seconds (RFC 5861 §3). */
  staleWhileRevalidate: number;
  /** stale-if-error window in seconds (RFC 5861 §4). */
  staleIfError: number;
  /** Whether every use requires validation first (RFC 9111 §5.2.2.4 no-cache, §5.2.2.2 must-revalidate once stale). */
  noCache: boolean;
  mustRevalidate: boolean;
}

export interface Timing {
  /** When the request was sent (ms). */
  requestTime: number;
  /** When the response head arrived (ms). */
  responseTime: number;
}

/** RFC 9110 §5.6.7: an HTTP-date, or null when invalid. */
export function parseHttpDate(value: string | undefined): number | null {
  if (!value) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

/** RFC 9111 §4.2.3: the response's corrected initial age, in seconds. */
export function initialAge(headers: Headers, timing: Timing): number {
  const date = parseHttpDate(headers.get("date")) ?? timing.responseTime;
  const ageValue = Number(headers.get("age"));
  const age = Number.isFinite(ageValue) && ageValue >= 0 ? ageValue : 0;
  const apparentAge = Math.max(0, (timing.responseTime - date) / 1000);
  const responseDelay = (timing.responseTime - timing.requestTime) / 1000;
  return Math.max(apparentAge, age + responseDelay);
}

/**
 * The freshness lifetime, in the platform's order of preference:
 * the guest's override, Surrogate-Control max-age, CDN-Cache-Control
 * (RFC 9213 §2.1: it takes precedence over Cache-Control for a CDN),
 * Cache-Control s-maxage (RFC 9111 §5.2.2.10: shared caches prefer it),
 * max-age (§5.2.2.1), Expires minus Date (§5.3), else the platform's default
 * TTL (in place of §4.2.2 heuristics).
 */
export function freshness(headers: Headers, override: CacheOverride, timing: Timing): Freshness {
  const { cacheControl, surrogateControl, cdnCacheControl } = responseDirectives(headers);
  const age = initialAge(headers, timing);
  let lifetime: number;
  if (override.ttl !== null) {
    // An override sets the time to live from now, whatever the response's age.
    lifetime = override.ttl + age;
  } else {
    lifetime =
      deltaSeconds(surrogateControl, "max-age") ??
      deltaSeconds(cdnCacheControl, "max-age") ??
      deltaSeconds(cdnCacheControl, "s-maxage") ??
      deltaSeconds(cacheControl, "s-maxage") ??
      deltaSeconds(cacheControl, "max-age") ??
      expiresLifetime(headers, timing) ??
      DEFAULT_TTL_SECONDS + age;
  }
  const firstOf = (name: string) =>
    deltaSeconds(surrogateControl, name) ?? deltaSeconds(cdnCacheControl, name) ?? deltaSeconds(cacheControl, name) ?? 0;
  return {
    initialAge: age,
    lifetime,
    staleWhileRevalidate: override.staleWhileRevalidate ?? firstOf("stale-while-revalidate"),
    staleIfError: firstOf("stale-if-error"),
    // RFC 9111 §5.2.2.4: unqualified no-cache means every use needs validation.
    noCache: cacheControl.get("no-cache") === true,
    // RFC 9111 §5.2.2.2 and §5.2.2.8: no stale use at all.
    mustRevalidate: cacheControl.has("must-revalidate") || cacheControl.has("proxy-revalidate"),
  };
}

/** RFC 9111 §5.3: Expires minus Date; an invalid Expires means already expired. */
function expiresLifetime(headers: Headers, timing: Timing): number | null {
  const expiresText = headers.get("expires");
  if (expiresText === undefined) return null;
  const expires = parseHttpDate(expiresText);
  if (expires === null) return 0;
  const date = parseHttpDate(headers.get("date")) ?? timing.responseTime;
  return Math.max(0, (expires - date) / 1000);
}

/** Stored times derived from a freshness: absolute instants in ms. */
export interface Lifetimes {
  /** When the object stops being fresh. */
  staleAt: number;
  /** Until when it may be served stale while one revalidation runs. */
  staleWhileRevalidateUntil: number;
  /** Until when it may be served stale if the origin fails. */
  staleIfErrorUntil: number;
}

/** Absolute instants for a freshness measured at `responseTime`. */
export function lifetimes(f: Freshness, responseTime: number): Lifetimes {
  // RFC 9111 §4.2: fresh while freshness_lifetime > current_age.
  const staleAt = f.noCache ? responseTime : responseTime + (f.lifetime - f.initialAge) * 1000;
  const stale = (window: number) => (f.mustRevalidate ? staleAt : staleAt + window * 1000);
  return { staleAt, staleWhileRevalidateUntil: stale(f.staleWhileRevalidate), staleIfErrorUntil: stale(f.staleIfError) };
}

/** RFC 9111 §4.2.3: current_age, in whole seconds, for the Age header. */
export function currentAge(f: Freshness, responseTime: number, now: number): number {
  return Math.max(0, Math.floor(f.initialAge + (now - responseTime) / 1000));
}

/** How a stored object may be used at `now`. */
export type Usability = "fresh" | "stale-while-revalidate" | "stale";

export function usability(l: Lifetimes, now: number): Usability {
  if (now < l.staleAt) return "fresh";
  if (now < l.staleWhileRevalidateUntil) return "stale-while-revalidate";
  return "stale";
}

// ---- validation ----

/** RFC 9111 §4.3.1: the validators to send when revalidating a stored response. */
export function conditionalHeaders(stored: Headers): [string, string][] {
  const out: [string, string][] = [];
  const etag = stored.get("etag");
  if (etag) out.push(["if-none-match", etag]);
  const lastModified = stored.get("last-modified");
  if (lastModified) out.push(["if-modified-since", lastModified]);
  return out;
}

export function hasValidators(stored: Headers): boolean {
  return stored.has("etag") || stored.has("last-modified");
}

/** Headers a 304 must not replace (RFC 9111 §3.2: the stored content's own framing and encoding). */
const KEEP_ON_UPDATE = new Set(["content-length", "content-encoding", "transfer-encoding", "content-range"]);

/**
 * RFC 9111 §4.3.4: a 304 updates the stored response's header fields with
 * those it carries (other than the ones describing the stored content).
 */
export function mergeNotModified(stored: Headers, notModified: Headers): Headers {
  const merged = stored.clone();
  for (const name of notModified.names()) {
    if (KEEP_ON_UPDATE.has(name)) continue;
    merged.setAll(name, [...notModified.getAll(name)]);
  }
  return merged;
}

/** RFC 9111 §3.1: header fields a cache must not store (hop-by-hop and those named by no-cache/private). */
export function headersToStore(headers: Headers): Headers {
  const stored = headers.clone();
  for (const hop of ["connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"]) stored.delete(hop);
  const { cacheControl } = responseDirectives(headers);
  for (const qualified of ["no-cache", "private"]) {
    for (const name of fieldNames(cacheControl, qualified) ?? []) stored.delete(name);
  }
  return stored;
}

// ---- variants ----

/** RFC 9111 §4.1: the request header names a response varies on, normalised. */
export function varyRule(headers: Headers): string[] {
  const names = headers
    .getAll("vary")
    .flatMap((value) => value.split(","))
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  return [...new Set(names)].sort();
}

/** RFC 9111 §4.1: the secondary key: the request's values of the varying headers. */
export function secondaryKey(rule: readonly string[], requestHeaders: Headers): string {
  if (rule.length === 0) return "";
  // Values are normalised by joining repeated fields and trimming whitespace (§4.1 allows such normalisation).
  return rule.map((name) => `${name}:${requestHeaders.getAll(name).map((v) => v.trim()).join(",")}`).join("\n");
}

// ---- invalidation ----

/**
 * RFC 9111 §4.4: after a non-error response to an unsafe method, the target
 * URI and the Location and Content-Location URIs (same origin) are invalidated.
 */
export function invalidationTargets(method: string, status: number, uri: string, requestHeaders: Headers, responseHeaders: Headers): string[] {
  if (["GET", "HEAD", "OPTIONS", "TRACE"].includes(method) || status < 200 || status >= 400) return [];
  const targets = [primaryKey(uri, requestHeaders)];
  const host = (requestHeaders.get("host") ?? safeHost(uri) ?? "").toLowerCase();
  for (const name of ["location", "content-location"]) {
    const value = responseHeaders.get(name);
    if (!value) continue;
    try {
      const url = new URL(value, `http://${host}/`);
      if (url.host.toLowerCase() === host) targets.push(`${host}${url.pathname}${url.search}`);
    } catch {
      // an unparsable location invalidates nothing
    }
  }
  return targets;
}

function safeHost(uri: string): string | null {
  try {
    return new URL(uri).host;
  } catch {
    return null;
  }
}

// ---- surrogate keys ----

/** The platform's limits on surrogate keys: each at most 1024 bytes, 16 KiB of keys per object. */
export const MAX_SURROGATE_KEY_BYTES = 1024;
export const MAX_SURROGATE_KEYS_BYTES = 16 * 1024;

/** Surrogate keys of an object: the response's Surrogate-Key header and the override's, within the limits. */
export function surrogateKeys(headers: Headers, override: CacheOverride): string[] {
  const values = [...headers.getAll("surrogate-key")];
  if (override.surrogateKey) values.push(override.surrogateKey);
  const keys = new Set<string>();
  let total = 0;
  for (const key of values.flatMap((value) => value.split(/\s+/))) {
    if (!key || Buffer.byteLength(key) > MAX_SURROGATE_KEY_BYTES || keys.has(key)) continue;
    total += Buffer.byteLength(key) + 1;
    if (total > MAX_SURROGATE_KEYS_BYTES) break;
    keys.add(key);
  }
  return [...keys];
}
