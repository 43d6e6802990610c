// The pure caching rules (runtime/cache/policy.ts), edge case by edge case.
import { describe, expect, it } from "vitest";
import {
  type CacheOverride,
  conditionalHeaders,
  currentAge,
  DEFAULT_TTL_SECONDS,
  freshness,
  headersToForward,
  headersToStore,
  initialAge,
  invalidationTargets,
  lifetimes,
  mergeNotModified,
  NO_OVERRIDE,
  notModifiedSelects,
  primaryKey,
  responseDirectives,
  secondaryKey,
  shouldLookUp,
  storability,
  surrogateKeys,
  usability,
  varyRule,
  withDate,
} from "../../runtime/cache/policy.ts";
import { Headers } from "../../runtime/session/headers.ts";

const T = Date.UTC(2030, 0, 1);
const at = { requestTime: T, responseTime: T };
const date = (offsetSeconds = 0) => new Date(T + offsetSeconds * 1000).toUTCString();

function headers(fields: Record<string, string | string[]>): Headers {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) flat.push(name, v);
  return Headers.fromFlat(flat);
}
const override = (o: Partial<CacheOverride>): CacheOverride => ({ ...NO_OVERRIDE, ...o });
const stores = (fields: Record<string, string | string[]>, request: Record<string, string> = {}, status = 200, method = "GET") =>
  storability(method, headers(request), status, headers(fields), NO_OVERRIDE);
const lifetime = (fields: Record<string, string | string[]>, o: Partial<CacheOverride> = {}) =>
  freshness(headers({ date: date(), ...fields }), override(o), at).lifetime;

describe("shouldLookUp / primaryKey", () => {
  it("looks up only GET and HEAD, and never under a pass override (RFC 9111 §2)", () => {
    expect(shouldLookUp("GET", NO_OVERRIDE)).toBe(true);
    expect(shouldLookUp("HEAD", NO_OVERRIDE)).toBe(true);
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "get"]) expect(shouldLookUp(method, NO_OVERRIDE)).toBe(false);
    expect(shouldLookUp("GET", override({ pass: true }))).toBe(false);
  });

  it("keys by host (lower-cased) and path with query", () => {
    expect(primaryKey("/a?b=1", headers({ host: "Example.COM" }))).toBe("example.com/a?b=1");
    expect(primaryKey("http://example.com:8080/x?y", headers({}))).toBe("example.com:8080/x?y");
    expect(primaryKey("http://ignored.example/x", headers({ host: "h" }))).toBe("h/x");
    expect(primaryKey("not a url", headers({ host: "h" }))).toBe("hnot a url");
  });
});

describe("storability (RFC 9111 §3)", () => {
  it("stores a plain 200", () => {
    expect(stores({ "cache-control": "max-age=60" })).toEqual({ store: true });
    expect(stores({})).toEqual({ store: true });
  });

  it("stores only the platform's statuses, without a hit-for-pass marker for the others", () => {
    for (const status of [200, 203, 300, 301, 302, 404, 410]) expect(stores({}, {}, status).store, String(status)).toBe(true);
    for (const status of [201, 204, 206, 304, 307, 308, 400, 401, 403, 500, 503]) {
      expect(stores({}, {}, status), String(status)).toMatchObject({ store: false, hitForPass: false });
    }
  });

  it("stores nothing for HEAD or other methods, or under a pass override", () => {
    expect(stores({}, {}, 200, "HEAD")).toMatchObject({ store: false, hitForPass: false });
    expect(stores({}, {}, 200, "POST")).toMatchObject({ store: false, hitForPass: false });
    expect(storability("GET", headers({}), 200, headers({}), override({ pass: true }))).toMatchObject({ store: false, hitForPass: false });
  });

  it("refuses no-store (§5.2.2.5) in Cache-Control, Surrogate-Control or CDN-Cache-Control, marking hit-for-pass", () => {
    for (const name of ["cache-control", "surrogate-control", "cdn-cache-control"]) {
      const fields = { [name]: "no-store" };
      expect(stores(fields)).toMatchObject({ store: false, reason: "no-store", hitForPass: true });
    }
  });

  it("refuses unqualified private (§5.2.2.7) but not the qualified form", () => {
    expect(stores({ "cache-control": "private" })).toMatchObject({ store: false, reason: "private", hitForPass: true });
    expect(stores({ "cache-control": 'private="x-user"' })).toEqual({ store: true });
    // The platform honours private even when Surrogate-Control gives a lifetime.
    expect(stores({ "cache-control": "private", "surrogate-control": "max-age=60" }).store).toBe(false);
  });

  it("refuses Vary: * (§4.1), wherever it appears in the list", () => {
    expect(stores({ vary: "*" }).store).toBe(false);
    expect(stores({ vary: ["accept", " * "] }).store).toBe(false);
    expect(stores({ vary: "accept-encoding" }).store).toBe(true);
  });

  it("refuses Set-Cookie unless a qualified no-cache or private keeps it out of the stored copy", () => {
    expect(stores({ "set-cookie": "a=1" })).toMatchObject({ store: false, reason: "Set-Cookie" });
    expect(stores({ "set-cookie": "a=1", "cache-control": 'no-cache="Set-Cookie"' }).store).toBe(true);
    expect(stores({ "set-cookie": "a=1", "cache-control": "private=set-cookie" }).store).toBe(true);
    expect(stores({ "set-cookie": "a=1", "cache-control": 'no-cache="x-other"' }).store).toBe(false);
  });

  it("refuses responses to requests with Authorization unless public, must-revalidate or s-maxage (§3.5)", () => {
    const auth = { authorization: "Basic x" };
    expect(stores({ "cache-control": "max-age=60" }, auth)).toMatchObject({ store: false, hitForPass: false });
    for (const cc of ["public", "must-revalidate", "s-maxage=60"]) expect(stores({ "cache-control": cc }, auth).store, cc).toBe(true);
    expect(stores({ "cdn-cache-control": "public", "cache-control": "max-age=60" }, auth).store).toBe(true);
  });

  it("RFC 9213 §2.2: a valid CDN-Cache-Control replaces Cache-Control", () => {
    expect(stores({ "cdn-cache-control": "max-age=60", "cache-control": "no-store" }).store).toBe(true);
    expect(stores({ "cdn-cache-control": "max-age=60", "cache-control": "private" }).store).toBe(true);
    expect(stores({ "cdn-cache-control": "private", "cache-control": "public" }).store).toBe(false);
    // Empty or malformed: ignored.
    expect(stores({ "cdn-cache-control": "", "cache-control": "no-store" }).store).toBe(false);
    expect(stores({ "cdn-cache-control": '"', "cache-control": "no-store" }).store).toBe(false);
    expect(responseDirectives(headers({ "cdn-cache-control": "max-age=1" })).targeted).toBe(true);
  });
});

describe("freshness lifetime (RFC 9111 §4.2.1)", () => {
  it("follows the platform's order of sources", () => {
    const all = { "surrogate-control": "max-age=1", "cdn-cache-control": "s-maxage=2, max-age=3", "cache-control": "s-maxage=4, max-age=5", expires: date(6) };
    expect(lifetime(all)).toBe(1);
    const { "surrogate-control": _sc, ...noSurrogate } = all;
    expect(lifetime(noSurrogate)).toBe(2);
    expect(lifetime({ ...noSurrogate, "cdn-cache-control": "max-age=3" })).toBe(3);
    expect(lifetime({ "cache-control": "s-maxage=4, max-age=5", expires: date(6) })).toBe(4);
    expect(lifetime({ "cache-control": "max-age=5", expires: date(6) })).toBe(5);
    expect(lifetime({ expires: date(6) })).toBe(6);
    expect(lifetime({})).toBe(DEFAULT_TTL_SECONDS);
  });

  it("RFC 9213 §2.2: with CDN-Cache-Control, Cache-Control and Expires no longer count", () => {
    expect(lifetime({ "cdn-cache-control": "public", "cache-control": "max-age=5", expires: date(6) })).toBe(DEFAULT_TTL_SECONDS);
  });

  it("an invalid value in the deciding source means stale, not a fall-through (§4.2.1)", () => {
    for (const cc of ["max-age=-1", "max-age=abc", "max-age", "s-maxage=1.5, max-age=60"]) {
      expect(lifetime({ "cache-control": cc, expires: date(600) }), cc).toBe(0);
    }
    expect(lifetime({ "surrogate-control": "max-age=x", "cache-control": "max-age=60" })).toBe(0);
    // A source that does not set the lifetime at all is not invalid.
    expect(lifetime({ "surrogate-control": "no-transform", "cache-control": "max-age=60" })).toBe(60);
  });

  it("Expires: minus Date, and invalid or past means stale (§5.3)", () => {
    expect(lifetime({ expires: date(-30) })).toBe(0);
    expect(lifetime({ expires: "0" })).toBe(0);
    expect(lifetime({ expires: "Thu, 01 Jan 1970 00:00:00 GMT" })).toBe(0);
    expect(freshness(headers({ expires: date(90) }), NO_OVERRIDE, at).lifetime).toBe(90);
    // Date in the past: Expires is measured from it.
    expect(lifetime({ date: date(-10), expires: date(20) })).toBe(30);
  });

  it("a TTL override lasts its TTL from now, whatever the response says", () => {
    const f = freshness(headers({ date: date(), age: "100", "cache-control": "no-cache, max-age=5" }), override({ ttl: 30 }), at);
    expect(f.lifetime - f.initialAge).toBe(30);
    expect(f.noCache).toBe(false);
  });

  it("takes stale windows from Surrogate-Control first, then the cache's directives; the override replaces SWR", () => {
    const f = freshness(headers({ "surrogate-control": "stale-while-revalidate=10", "cache-control": "stale-while-revalidate=20, stale-if-error=30" }), NO_OVERRIDE, at);
    expect([f.staleWhileRevalidate, f.staleIfError]).toEqual([10, 30]);
    expect(freshness(headers({ "cache-control": "stale-while-revalidate=20" }), override({ staleWhileRevalidate: 5 }), at).staleWhileRevalidate).toBe(5);
    expect(freshness(headers({ "cache-control": "stale-while-revalidate=oops" }), NO_OVERRIDE, at).staleWhileRevalidate).toBe(0);
  });

  it("reads no-cache (unqualified only), must-revalidate and proxy-revalidate", () => {
    expect(freshness(headers({ "cache-control": "no-cache" }), NO_OVERRIDE, at).noCache).toBe(true);
    expect(freshness(headers({ "cache-control": 'no-cache="set-cookie"' }), NO_OVERRIDE, at).noCache).toBe(false);
    // The platform's pattern: no-cache for browsers, Surrogate-Control for the CDN.
    expect(freshness(headers({ "cache-control": "no-cache", "surrogate-control": "max-age=60" }), NO_OVERRIDE, at).noCache).toBe(false);
    expect(freshness(headers({ "cache-control": "proxy-revalidate" }), NO_OVERRIDE, at).mustRevalidate).toBe(true);
    expect(freshness(headers({ "cache-control": "must-revalidate" }), NO_OVERRIDE, at).mustRevalidate).toBe(true);
  });
});

describe("age (RFC 9111 §4.2.3, §5.1)", () => {
  it("counts the origin's Age and the response delay", () => {
    expect(initialAge(headers({ date: date(), age: "30" }), at)).toBe(30);
    expect(initialAge(headers({ date: date(), age: "30" }), { requestTime: T - 2000, responseTime: T })).toBe(32);
  });

  it("counts a Date in the past (apparent_age) but never a Date in the future", () => {
    expect(initialAge(headers({ date: date(-20) }), at)).toBe(20);
    expect(initialAge(headers({ date: date(3600) }), at)).toBe(0);
    expect(initialAge(headers({ date: date(-20), age: "5" }), at)).toBe(20);
  });

  it("ignores an invalid Age", () => {
    for (const age of ["-5", "abc", "1.5", ""]) expect(initialAge(headers({ date: date(), age }), at), age).toBe(0);
    expect(initialAge(headers({ date: date(), age: " 7 " }), at)).toBe(7);
    expect(initialAge(headers({ date: date(), age: "99999999999999" }), at)).toBe(2 ** 31);
  });

  it("current age grows with time, in whole seconds", () => {
    const f = freshness(headers({ date: date(), age: "3" }), NO_OVERRIDE, at);
    expect(currentAge(f, T, T)).toBe(3);
    expect(currentAge(f, T, T + 1999)).toBe(4);
    expect(currentAge(f, T, T + 2000)).toBe(5);
  });
});

describe("lifetimes and usability", () => {
  const f = (cc: string) => freshness(headers({ date: date(), "cache-control": cc }), NO_OVERRIDE, at);

  it("is fresh strictly before the lifetime ends (§4.2: lifetime > current_age)", () => {
    const l = lifetimes(f("max-age=10"), T);
    expect(usability(l, T + 9999)).toBe("fresh");
    expect(usability(l, T + 10_000)).toBe("stale");
  });

  it("opens the stale-while-revalidate window after it", () => {
    const l = lifetimes(f("max-age=10, stale-while-revalidate=5, stale-if-error=60"), T);
    expect(usability(l, T + 12_000)).toBe("stale-while-revalidate");
    expect(usability(l, T + 15_000)).toBe("stale");
    expect(l.staleIfErrorUntil).toBe(T + 70_000);
  });

  it("allows no stale use with must-revalidate or no-cache (§4.2.4)", () => {
    for (const cc of ["max-age=10, must-revalidate, stale-while-revalidate=60, stale-if-error=60", "no-cache, stale-while-revalidate=60, stale-if-error=60"]) {
      const l = lifetimes(f(cc), T);
      expect(l.staleWhileRevalidateUntil, cc).toBe(l.staleAt);
      expect(l.staleIfErrorUntil, cc).toBe(l.staleAt);
    }
    expect(lifetimes(f("no-cache, max-age=600"), T).staleAt).toBe(T);
  });
});

describe("validation (RFC 9111 §4.3)", () => {
  it("sends both validators back", () => {
    expect(conditionalHeaders(headers({ etag: 'W/"x"', "last-modified": date(-60) }))).toEqual([
      ["if-none-match", 'W/"x"'],
      ["if-modified-since", date(-60)],
    ]);
    expect(conditionalHeaders(headers({}))).toEqual([]);
  });

  it("merges a 304's fields but not those describing the stored content (§3.2, §4.3.4)", () => {
    const stored = headers({ "content-length": "100", "content-encoding": "gzip", etag: '"a"', "x-old": "1", "x-multi": ["a", "b"] });
    const merged = mergeNotModified(stored, headers({ "content-length": "0", "content-encoding": "br", "x-old": "2", "x-multi": "c" }));
    expect(merged.get("content-length")).toBe("100");
    expect(merged.get("content-encoding")).toBe("gzip");
    expect(merged.get("x-old")).toBe("2");
    expect(merged.getAll("x-multi")).toEqual(["c"]);
    expect(merged.get("etag")).toBe('"a"');
  });

  it("drops the stored Age; the 304's own replaces it", () => {
    expect(mergeNotModified(headers({ age: "50" }), headers({})).has("age")).toBe(false);
    expect(mergeNotModified(headers({ age: "50" }), headers({ age: "3" })).get("age")).toBe("3");
  });

  it("a 304 selects the stored response only if its entity tag matches (§4.3.4)", () => {
    const sel = (stored: string | null, received: string | null) =>
      notModifiedSelects(headers(stored ? { etag: stored } : {}), headers(received ? { etag: received } : {}));
    expect(sel('"a"', '"a"')).toBe(true);
    expect(sel('"a"', '"b"')).toBe(false);
    expect(sel('W/"a"', '"a"')).toBe(false);
    expect(sel('W/"a"', 'W/"a"')).toBe(true);
    expect(sel('"a"', 'W/"a"')).toBe(true);
    expect(sel('"a"', null)).toBe(true);
    expect(sel(null, '"a"')).toBe(false);
  });

  it("dates a response that has no Date (RFC 9110 §6.6.1)", () => {
    expect(withDate(headers({}), T).get("date")).toBe(date());
    expect(withDate(headers({ date: date(-5) }), T).get("date")).toBe(date(-5));
  });
});

describe("what is stored and forwarded", () => {
  it("never stores or forwards hop-by-hop fields", () => {
    const h = headers({ connection: "close", "keep-alive": "timeout=5", "transfer-encoding": "chunked", upgrade: "h2c", te: "trailers", "x-kept": "1" });
    for (const out of [headersToStore(h), headersToForward(h)]) expect(out.names()).toEqual(["x-kept"]);
  });

  it("leaves out fields named by a qualified no-cache or private, in either header", () => {
    const h = headers({
      "cache-control": 'max-age=60, no-cache="Set-Cookie", private="x-user"',
      "cdn-cache-control": 'private="x-cdn"',
      "set-cookie": "a=1",
      "x-user": "alice",
      "x-cdn": "c",
      "x-kept": "1",
    });
    const stored = headersToStore(h);
    expect(stored.has("set-cookie") || stored.has("x-user") || stored.has("x-cdn")).toBe(false);
    expect(stored.get("x-kept")).toBe("1");
    expect(headersToForward(h).get("x-user")).toBe("alice");
  });
});

describe("Vary (RFC 9111 §4.1)", () => {
  it("normalises the rule: lower-cased, trimmed, deduplicated, sorted", () => {
    expect(varyRule(headers({ vary: ["Accept-Language, accept-encoding", " ACCEPT-LANGUAGE ,, "] }))).toEqual(["accept-encoding", "accept-language"]);
    expect(varyRule(headers({}))).toEqual([]);
  });

  it("keys variants by the request's values, trimmed and joined", () => {
    const rule = ["accept-language"];
    expect(secondaryKey(rule, headers({ "accept-language": " en " }))).toBe(secondaryKey(rule, headers({ "accept-language": "en" })));
    expect(secondaryKey(rule, headers({ "accept-language": "en" }))).not.toBe(secondaryKey(rule, headers({ "accept-language": "fr" })));
    expect(secondaryKey(rule, headers({ "accept-language": ["en", "fr"] }))).toBe(secondaryKey(rule, headers({ "accept-language": "en,fr" })));
    expect(secondaryKey([], headers({ "accept-language": "en" }))).toBe("");
    // Different rules never collide.
    expect(secondaryKey(["a"], headers({}))).not.toBe(secondaryKey(["b"], headers({})));
  });
});

describe("invalidation (RFC 9111 §4.4)", () => {
  const req = headers({ host: "site.example" });
  const targets = (method: string, status: number, response: Record<string, string> = {}) =>
    invalidationTargets(method, status, "/thing", req, headers(response));

  it("invalidates the target after a 2xx or 3xx to an unsafe method", () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "PURGE"]) expect(targets(method, 200)).toEqual(["site.example/thing"]);
    expect(targets("POST", 302)).toEqual(["site.example/thing"]);
  });

  it("does nothing for safe methods or error statuses", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "TRACE"]) expect(targets(method, 200)).toEqual([]);
    for (const status of [100, 400, 404, 500]) expect(targets("POST", status)).toEqual([]);
  });

  it("adds Location and Content-Location when they are on the same host", () => {
    expect(targets("POST", 201, { location: "/new?id=1", "content-location": "http://SITE.example/cl" })).toEqual([
      "site.example/thing",
      "site.example/new?id=1",
      "site.example/cl",
    ]);
    expect(targets("POST", 201, { location: "https://other.example/new", "content-location": "//other.example/x" })).toEqual(["site.example/thing"]);
    expect(targets("POST", 201, { location: "http://[bad" })).toEqual(["site.example/thing"]);
  });
});

describe("surrogate keys (platform limits)", () => {
  const keys = (value: string | string[], sk: string | null = null) => surrogateKeys(headers({ "surrogate-key": value }), override({ surrogateKey: sk }));

  it("splits on whitespace, joins header lines, adds the override's, drops duplicates", () => {
    expect(keys("a  b\tc")).toEqual(["a", "b", "c"]);
    expect(keys(["a b", "c"], "b d")).toEqual(["a", "b", "c", "d"]);
    expect(surrogateKeys(headers({}), NO_OVERRIDE)).toEqual([]);
  });

  it("stops at a key longer than 1024 bytes: it and the rest of that header are ignored", () => {
    expect(keys(`a ${"k".repeat(1024)} b`)).toEqual(["a", "k".repeat(1024), "b"]);
    expect(keys(`a ${"k".repeat(1025)} b`, "c")).toEqual(["a", "c"]);
  });

  it("keeps only keys entirely within the first 16 KiB of a header", () => {
    const many = Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(6, "0")}`); // 7 bytes + a space each
    const kept = keys(many.join(" "));
    expect(kept).toEqual(many.slice(0, Math.floor((16 * 1024 + 1) / 8)));
    expect(kept.at(-1)).toBe(many[2047]);
  });
});
