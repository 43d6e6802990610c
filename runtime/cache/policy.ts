// The HTTP caching rules, as pure functions of requests, responses, the
// guest's cache override and the time. No I/O and no state (but a memo of
// parsed URIs): the readthrough pipeline and the HTTP Cache API both decide
// with these.
//
// References: RFC 9111 (HTTP Caching), RFC 9110 (HTTP Semantics), RFC 5861
// (stale-while-revalidate, stale-if-error), RFC 9213 (CDN-Cache-Control),
// and the production platform's documented behaviour
// (https://www.fastly.com/documentation/guides/concepts/cache/cache-freshness).
import type { Headers } from "../session/headers.ts";
import { deltaSeconds, type Directives, fieldNames, hasValidDirective, parseDeltaSeconds, parseDirectives } from "./directives.ts";

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
  /**
   * The directives this cache obeys: CDN-Cache-Control when it has a valid,
   * non-empty value, else Cache-Control (RFC 9213 §2.2).
   */
  control: Directives;
  /** Whether `control` is CDN-Cache-Control: Cache-Control and Expires are then ignored (RFC 9213 §2.2). */
  targeted: boolean;
}

export function responseDirectives(headers: Headers): ResponseDirectives {
  const cacheControl = parseDirectives(headers.getAll("cache-control"));
  const cdnCacheControl = parseDirectives(headers.getAll("cdn-cache-control"));
  // RFC 9213 §2.2: a cache that honours a targeted field uses it, when valid and non-empty,
  // and MUST then ignore Cache-Control and Expires.
  const targeted = hasValidDirective(cdnCacheControl);
  return {
    cacheControl,
    surrogateControl: parseDirectives(headers.getAll("surrogate-control")),
    cdnCacheControl,
    control: targeted ? cdnCacheControl : cacheControl,
    targeted,
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
  return primaryKeyFor(uri, headers.get("host"));
}

/** `primaryKey` from the request's (first) Host header value, when the caller has it at hand. */
export function primaryKeyFor(uri: string, hostHeader: string | undefined): string {
  let host = hostHeader;
  let pathAndQuery = uri;
  if (!uri.startsWith("/")) {
    // An unparsable target is keyed as written.
    const parts = uriParts(uri);
    if (parts) {
      host ??= parts[0];
      pathAndQuery = parts[1];
    }
  }
  return `${(host ?? "").toLowerCase()}${pathAndQuery}`;
}

/**
 * Parsing a URI is the costliest step of a cache hit, and clients ask for
 * the same URIs over and over: the parts of recent ones (not too long) are
 * kept. A pure function's results, so nothing observable changes.
 */
const parsedUris = new Map<string, readonly [host: string, pathAndQuery: string] | null>();
const MAX_PARSED_URIS = 2048;
const MAX_PARSED_URI_LENGTH = 1024;

/** The authority and the path with query of an absolute URI, as the URL parser reads them; null when it cannot. */
function uriParts(uri: string): readonly [host: string, pathAndQuery: string] | null {
  let parts = parsedUris.get(uri);
  if (parts !== undefined) return parts;
  try {
    const url = new URL(uri);
    parts = [url.host, url.pathname + url.search];
  } catch {
    parts = null;
  }
  if (uri.length <= MAX_PARSED_URI_LENGTH) {
    if (parsedUris.size >= MAX_PARSED_URIS) parsedUris.clear();
    parsedUris.set(uri, parts);
  }
  return parts;
}

// ---- storing ----

export type Storability =
  | { store: true }
  | { store: false; reason: string; /** Record hit-for-pass so later requests skip waiting on this key. */ hitForPass: boolean };

/**
 * Whether a response may be stored (RFC 9111 §3), with the platform's
 * defaults: only its cacheable statuses, never `private` or `no-store`
 * content or responses that set cookies. `hitForPass` is set when the
 * response itself forbids storing (its directives or fields), as opposed to
 * the request or status not allowing it.
 */
export function storability(method: string, requestHeaders: Headers, status: number, headers: Headers, override: CacheOverride): Storability {
  const no = (reason: string, hitForPass = true): Storability => ({ store: false, reason, hitForPass });
  // RFC 9111 §3: the request method must be cacheable; HEAD responses carry no content to store.
  if (method !== "GET") return no(`${method} responses are not stored`, false);
  if (override.pass) return no("pass requested", false);
  // The platform's list of cacheable statuses (RFC 9111 §3: a final status the cache understands).
  if (!CACHEABLE_STATUSES.has(status)) return no(`status ${status} is not cacheable`, false);
  const { control, surrogateControl } = responseDirectives(headers);
  // RFC 9111 §3 and §5.2.2.5: no-store in the response forbids storing (RFC 9213 §2.2: in
  // CDN-Cache-Control when that is present; Surrogate-Control's too, on the platform).
  if (control.has("no-store") || surrogateControl.has("no-store")) return no("no-store");
  // RFC 9111 §5.2.2.7: a shared cache must not store a private response (unqualified private;
  // the qualified form only keeps the listed fields out, see headersToStore). Surrogate-Control
  // does not lift this: the platform always honours private.
  if (control.get("private") === true) return no("private");
  // RFC 9111 §4.1: Vary: * never matches a later request.
  if (headers.getAll("vary").some((value) => value.split(",").some((field) => field.trim() === "*"))) return no("Vary: *");
  // The platform does not cache responses that set cookies (a privacy default, RFC 9111 §7.3),
  // unless no-cache="set-cookie" or private="set-cookie" keeps the cookie out of the stored copy
  // (RFC 9111 §5.2.2.4, §5.2.2.7).
  if (headersToStore(headers).has("set-cookie")) return no("Set-Cookie");
  // RFC 9111 §3.5: responses to requests with Authorization only with public, must-revalidate or s-maxage.
  if (requestHeaders.has("authorization") && !["public", "must-revalidate", "s-maxage"].some((d) => control.has(d))) {
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
  // RFC 9111 §5.1: Age is delta-seconds; an invalid one is ignored (counts as 0).
  const age = parseDeltaSeconds(headers.get("age")?.trim()) ?? 0;
  const apparentAge = Math.max(0, (timing.responseTime - date) / 1000);
  const responseDelay = (timing.responseTime - timing.requestTime) / 1000;
  return Math.max(apparentAge, age + responseDelay);
}

/**
 * The freshness lifetime, in the platform's order of preference:
 * the guest's override, Surrogate-Control max-age, CDN-Cache-Control
 * (RFC 9213 §2.2: when present it replaces Cache-Control and Expires),
 * Cache-Control s-maxage (RFC 9111 §5.2.2.10: shared caches prefer it),
 * max-age (§5.2.2.1), Expires minus Date (§5.3), else the platform's default
 * TTL (in place of §4.2.2 heuristics). The first source present decides: an
 * invalid value there (negative, not an integer) makes the response stale
 * rather than falling through to a longer lifetime (RFC 9111 §4.2.1).
 */
export function freshness(headers: Headers, override: CacheOverride, timing: Timing): Freshness {
  const { control, targeted, surrogateControl } = responseDirectives(headers);
  const age = initialAge(headers, timing);
  let lifetime: number;
  if (override.ttl !== null) {
    // An override sets the time to live from now, whatever the response's age.
    lifetime = override.ttl + age;
  } else {
    lifetime =
      directiveLifetime(surrogateControl, "max-age") ??
      // RFC 9111 §5.2.2.10: s-maxage before max-age, in CDN-Cache-Control as in Cache-Control (RFC 9213 §2.1).
      directiveLifetime(control, "s-maxage") ??
      directiveLifetime(control, "max-age") ??
      // RFC 9213 §2.2: Expires is ignored along with Cache-Control when CDN-Cache-Control applies.
      (targeted ? null : expiresLifetime(headers, timing)) ??
      DEFAULT_TTL_SECONDS + age;
  }
  const firstOf = (name: string) => deltaSeconds(surrogateControl, name) ?? deltaSeconds(control, name) ?? 0;
  return {
    initialAge: age,
    lifetime,
    staleWhileRevalidate: override.staleWhileRevalidate ?? firstOf("stale-while-revalidate"),
    staleIfError: firstOf("stale-if-error"),
    // RFC 9111 §5.2.2.4: unqualified no-cache means every use needs validation. A guest's TTL
    // override, or a Surrogate-Control max-age, says for how long this cache may use it: the
    // platform's documented pattern is `Cache-Control: no-cache` for browsers alongside
    // `Surrogate-Control: max-age=N` for the CDN.
    noCache: override.ttl === null && !surrogateControl.has("max-age") && control.get("no-cache") === true,
    // RFC 9111 §5.2.2.2 and §5.2.2.8: no stale use at all.
    mustRevalidate: control.has("must-revalidate") || control.has("proxy-revalidate"),
  };
}

/**
 * A lifetime directive: its seconds, 0 when present but invalid (RFC 9111
 * §4.2.1: "consider responses that have invalid freshness information to be
 * stale"), or null when absent.
 */
function directiveLifetime(directives: Directives, name: string): number | null {
  if (!directives.has(name)) return null;
  return deltaSeconds(directives, name) ?? 0;
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
  // RFC 9111 §4.2.4: no stale response where no-cache or must-revalidate forbids it, whatever
  // stale-while-revalidate or stale-if-error say (RFC 5861 only relaxes freshness).
  const stale = (window: number) => (f.mustRevalidate || f.noCache ? staleAt : staleAt + window * 1000);
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

/**
 * RFC 9111 §4.3.4: whether a 304 selects the stored response for update. A
 * 304 naming an entity tag selects it only if the tags match (strongly when
 * the 304's is strong, RFC 9110 §8.8.3.2); a 304 without one is taken as the
 * answer to the validators the cache sent.
 */
export function notModifiedSelects(stored: Headers, notModified: Headers): boolean {
  const tag = notModified.get("etag")?.trim();
  if (!tag) return true;
  const storedTag = stored.get("etag")?.trim();
  if (!storedTag) return false;
  const weak = (t: string) => t.startsWith("W/");
  if (!weak(tag)) return !weak(storedTag) && tag === storedTag;
  return tag.slice(2) === (weak(storedTag) ? storedTag.slice(2) : storedTag);
}

/** Headers a 304 must not replace (RFC 9111 §3.2: the stored content's own framing and encoding). */
const KEEP_ON_UPDATE = new Set(["content-length", "content-encoding", "transfer-encoding", "content-range"]);

/**
 * RFC 9111 §4.3.4: a 304 updates the stored response's header fields with
 * those it carries (other than the ones describing the stored content). The
 * stored Age goes: it was the old response's age, and the freshened one's is
 * the 304's (RFC 9111 §4.2.3, §5.1). Date the 304 first (`withDate`).
 */
export function mergeNotModified(stored: Headers, notModified: Headers): Headers {
  const merged = stored.clone();
  merged.delete("age");
  for (const name of notModified.names()) {
    if (KEEP_ON_UPDATE.has(name)) continue;
    merged.setAll(name, [...notModified.getAll(name)]);
  }
  return merged;
}

/**
 * RFC 9110 §6.6.1: a recipient with a clock that caches a response without
 * a Date adds one, set to when the response was received.
 */
export function withDate(headers: Headers, responseTime: number): Headers {
  if (headers.has("date")) return headers;
  const dated = headers.clone();
  dated.set("date", new Date(responseTime).toUTCString());
  return dated;
}

/** RFC 9110 §7.6.1: fields that describe one connection, not the message. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"];

/** The fields of an origin response passed on to the client that fetched it: all but the hop-by-hop ones. */
export function headersToForward(headers: Headers): Headers {
  const forwarded = headers.clone();
  for (const hop of HOP_BY_HOP) forwarded.delete(hop);
  return forwarded;
}

/**
 * RFC 9111 §3.1: header fields a cache must not store: hop-by-hop ones, and
 * those named by a qualified no-cache or private (§5.2.2.4, §5.2.2.7), in
 * Cache-Control or CDN-Cache-Control (dropping more is always safe).
 */
export function headersToStore(headers: Headers): Headers {
  const stored = headersToForward(headers);
  const { cacheControl, cdnCacheControl } = responseDirectives(headers);
  for (const directives of [cacheControl, cdnCacheControl]) {
    for (const qualified of ["no-cache", "private"]) {
      for (const name of fieldNames(directives, qualified) ?? []) stored.delete(name);
    }
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

/** The platform's limits on surrogate keys: each at most 1024 bytes, a Surrogate-Key header at most 16 KiB. */
export const MAX_SURROGATE_KEY_BYTES = 1024;
export const MAX_SURROGATE_KEYS_BYTES = 16 * 1024;

/**
 * Surrogate keys of an object: the response's Surrogate-Key header (its
 * lines joined) and the override's, each read within the platform's limits:
 * parsing a header stops at the first key longer than 1024 bytes or not
 * entirely within its first 16 KiB, ignoring that key and the rest.
 * Header values are latin1 strings: one character, one byte.
 */
export function surrogateKeys(headers: Headers, override: CacheOverride): string[] {
  const values = [headers.getAll("surrogate-key").join(" ")];
  if (override.surrogateKey) values.push(override.surrogateKey);
  const keys = new Set<string>();
  for (const value of values) {
    for (const match of value.matchAll(/[^ \t]+/g)) {
      const key = match[0];
      if (key.length > MAX_SURROGATE_KEY_BYTES || match.index + key.length > MAX_SURROGATE_KEYS_BYTES) break;
      keys.add(key);
    }
  }
  return [...keys];
}
