// The HTTP Cache API (`fastly_http_cache`) end to end: a probing guest for
// each call's statuses and out-values, and a caching proxy built on the API
// (as the SDKs build theirs) for what users rely on: misses oblige, inserts
// are found, updates keep the body, uncacheable responses are recorded,
// concurrent lookups collapse, objects are shared with the readthrough cache
// and purged by surrogate key.
import { setTimeout as sleep } from "node:timers/promises";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BodyFeed, HttpCacheApi } from "../../runtime/cache/http-cache-api.ts";
import type { Owner } from "../../runtime/cache/http-cache-entry.ts";
import type { WriteOptions } from "../../runtime/cache/http-cache-rules.ts";
import { CacheStore } from "../../runtime/cache/store.ts";
import type { RequestHead, ResponseHead } from "../../runtime/engine/protocol.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { watFixture } from "../helpers/wat.ts";

const Status = { OK: 0, INVAL: 2, BADF: 3, BUFLEN: 4, NONE: 10 } as const;
const State = { FOUND: 1, USABLE: 2, STALE: 4, MUST_INSERT_OR_UPDATE: 8, USABLE_IF_ERROR: 16 } as const;
const Action = { INSERT: 0, UPDATE: 1, DO_NOT_STORE: 2, RECORD_UNCACHEABLE: 3 } as const;
/** The override key the probe looks up with. */
const OVERRIDE_KEY = "probe-override-key-0123456789abc";

describe("HTTP Cache API calls", () => {
  let origin: Origin;
  let server: TestServer;
  beforeAll(async () => {
    origin = await startOrigin((_req, res) => void res.end("unused"));
    server = await serve(watFixture("http-cache-probe"), { backends: { origin: origin.url } });
  });
  afterAll(async () => {
    await server.close();
    await origin.close();
  });

  it("answer with the ABI's statuses and out-values", async () => {
    const response = await server.get("/probe");
    expect(response.status).toBe(200);
    const r = await Results.of(response);
    // is_request_cacheable: GET is; a bad request handle is badf.
    expect([r.u32(), r.u32(), r.u32()]).toEqual([Status.OK, 1, Status.BADF]);
    // get_suggested_cache_key: 32 bytes, buflen with the size needed first.
    expect([r.u32(), r.u32()]).toEqual([Status.BUFLEN, 32]);
    expect([r.u32(), r.u32()]).toEqual([Status.OK, 32]);
    const key = r.bytes();
    expect(key.byteLength).toBe(32);
    expect(Buffer.from(key).equals(Buffer.from(suggestedKeyOf(server, "/probe")))).toBe(true);
    // Bad cache handles.
    expect([r.u32(), r.u32()]).toEqual([Status.BADF, Status.BADF]);
    // Lookup options: reserved bit, a key that is not 32 bytes, an unknown backend.
    expect([r.u32(), r.u32(), r.u32()]).toEqual([Status.INVAL, Status.INVAL, Status.INVAL]);
    // A miss: the obligation to insert.
    expect([r.u32(), r.u32(), r.u32()]).toEqual([Status.OK, Status.OK, State.MUST_INSERT_OR_UPDATE]);
    // Nothing found: every getter of the found response answers none.
    expect(Array.from({ length: 6 }, () => r.u32())).toEqual(Array(6).fill(Status.NONE));
    expect(r.u32()).toBe(Status.OK); // get_suggested_backend_request
    expect(r.u32()).toBe(Status.BADF); // transaction_update with nothing found
    // get_suggested_cache_options: a short vary buffer is buflen with the length needed.
    const requested = 2 | 4 | 8 | 16 | 128; // vary, initial age, swr, surrogate keys, sie (no length, not sensitive)
    expect([r.u32(), r.u32(), r.u32()]).toEqual([Status.BUFLEN, requested, "accept".length]);
    expect([r.u32(), r.u32()]).toEqual([Status.OK, requested]);
    expect(r.i64()).toBe(100_000_000_000n); // max-age=100
    expect(r.i64()).toBe(0n); // initial age
    expect(r.u32()).toBe(6);
    expect(r.text()).toBe("accept");
    // The response's surrogate keys, and one naming the cache key (the override key here).
    const keys = `a b ${Buffer.from(OVERRIDE_KEY).toString("hex").toUpperCase()}`;
    expect(r.u32()).toBe(keys.length);
    expect(r.text()).toBe(keys);
    // prepare_response_for_storage: insert.
    expect([r.u32(), r.u32()]).toEqual([Status.OK, Action.INSERT]);
    // transaction_insert, then the obligation is met.
    expect(r.u32()).toBe(Status.OK);
    expect([r.u32(), r.u32()]).toEqual([Status.OK, 0]);
    // No obligation left: insert, abandon, choose_stale, record_not_cacheable are badf.
    expect(Array.from({ length: 4 }, () => r.u32())).toEqual(Array(4).fill(Status.BADF));
    // close, then the handle is gone.
    expect([r.u32(), r.u32()]).toEqual([Status.OK, Status.BADF]);
    // A second lookup finds it fresh and usable.
    expect([r.u32(), r.u32(), r.u32()]).toEqual([Status.OK, Status.OK, State.FOUND | State.USABLE]);
    expect([r.u32(), r.i64()]).toEqual([Status.OK, 5n]); // length
    expect([r.u32(), r.i64()]).toEqual([Status.OK, 100_000_000_000n]); // max age
    expect([r.u32(), r.i64()]).toEqual([Status.OK, 1n]); // hits
    expect([r.u32(), r.i64()]).toEqual([Status.OK, 0n]); // stale-while-revalidate
    expect([r.u32(), r.u32()]).toEqual([Status.OK, 0]); // not sensitive
    expect([r.u32(), r.u32()]).toEqual([Status.BUFLEN, keys.length]);
    expect(r.u32()).toBe(Status.OK);
    expect(r.text()).toBe(keys);
    expect(r.u32()).toBe(Status.OK);
    expect(r.text()).toBe("accept");
    expect([r.u32(), r.u32()]).toEqual([Status.OK, 200]);
    expect(r.text()).toBe("hello");
    expect(r.u32()).toBe(Status.OK);
    expect(r.remaining).toBe(0);
  });
});

/** The key a request for `path` is stored under: a SHA-256 of its host and path, as the host computes it. */
function suggestedKeyOf(server: TestServer, path: string): Uint8Array {
  const host = new URL(server.url).host;
  return new Uint8Array(createHash("sha256").update(`http:${host}${path}`).digest());
}

/** The surrogate key the host suggests for every object: its cache key in hex. */
function keyOf(server: TestServer, path: string): string {
  return Buffer.from(suggestedKeyOf(server, path)).toString("hex").toUpperCase();
}

describe("a caching proxy on the HTTP Cache API", () => {
  let origin: Origin;
  let server: TestServer;
  // Whole seconds, and origin Date headers from the same clock: ages start at 0.
  let now = Math.floor(Date.now() / 1000) * 1000;
  let failSie = false;
  const hits = (path: string) => origin.requests.filter((r) => r.url === path).length;

  beforeAll(async () => {
    origin = await startOrigin(async (req, res) => {
      const path = req.url ?? "/";
      const n = hits(path);
      res.setHeader("date", new Date(now).toUTCString());
      if (path === "/etag") {
        if (req.headers["if-none-match"] === '"v1"') {
          res.writeHead(304, { "cache-control": "max-age=100", etag: '"v1"', "x-revalidated": "yes" });
          res.end();
        return;
        }
        res.writeHead(200, { "cache-control": "max-age=1", etag: '"v1"' });
        res.end("etag body");
        return;
      }
      if (path === "/private") {
        res.writeHead(200, { "cache-control": "private" });
        res.end(`private #${n}`);
        return;
      }
      if (path === "/error") {
        res.writeHead(500, { "cache-control": "max-age=60" });
        res.end("error");
        return;
      }
      if (path.startsWith("/slow")) {
        await sleep(150);
        res.writeHead(200, { "cache-control": "max-age=60" });
        for (let i = 0; i < 4; i++) {
          res.write(`chunk ${i};`);
          await sleep(30);
        }
        res.end();
        return;
      }
      if (path === "/swr") {
        res.writeHead(200, { "cache-control": "max-age=1, stale-while-revalidate=60" });
        res.end(`swr #${n}`);
        return;
      }
      if (path === "/sie") {
        if (failSie) {
          res.writeHead(503);
          res.end("down");
        return;
        }
        res.writeHead(200, { "cache-control": "max-age=1, stale-if-error=60" });
        res.end("sie ok");
        return;
      }
      if (path === "/vary") {
        res.writeHead(200, { "cache-control": "max-age=60", vary: "accept-language" });
        res.end(`lang ${req.headers["accept-language"]} #${n}`);
        return;
      }
      if (path === "/tagged") {
        res.writeHead(200, { "cache-control": "max-age=60", etag: '"t1"' });
        res.end("0123456789");
        return;
      }
      const keys = path.startsWith("/shared") ? "shared all" : `${path.slice(1)} all`;
      res.writeHead(200, { "cache-control": "max-age=60", "surrogate-key": keys });
      res.end(`${path} #${n}`);
    });
    server = await serve(watFixture("http-cache-proxy"), { backends: { origin: origin.url }, clock: () => now });
  });
  afterAll(async () => {
    await server.close();
    await origin.close();
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await server.get(path, { headers });
    return { response, body: await response.text(), header: (name: string) => response.headers.get(name) };
  };
  const state = (r: { header: (name: string) => string | null }) => Number(r.header("x-state"));

  it("obliges a miss to insert; the next lookup finds the object with its metadata", async () => {
    const miss = await get("/basic");
    expect(miss.response.status).toBe(200);
    expect(state(miss)).toBe(State.MUST_INSERT_OR_UPDATE);
    expect(miss.header("x-action")).toBe(String(Action.INSERT));
    expect(miss.body).toBe("/basic #1");
    const hit = await get("/basic");
    expect(state(hit)).toBe(State.FOUND | State.USABLE);
    expect(hit.body).toBe("/basic #1");
    expect(hit.header("x-hits")).toBe("1");
    expect(hit.header("x-max-age")).toBe("60");
    expect(hit.header("x-age")).toBe("0");
    expect(hit.header("x-swr")).toBe("0");
    expect(hit.header("x-length")).toBe(String("/basic #1".length));
    expect(hit.header("x-surrogate-keys")).toBe(`basic all ${keyOf(server, "/basic")}`);
    // The client's response says how old it is (transform_for_client).
    expect(hit.header("age")).toBe("0");
    now += 5_000;
    const older = await get("/basic");
    expect(older.header("x-hits")).toBe("2");
    expect(older.header("x-age")).toBe("5");
    expect(older.header("age")).toBe("5");
    expect(hits("/basic")).toBe(1);
  });

  it("revalidates a stale response with its validators and updates it, keeping the body", async () => {
    expect((await get("/etag")).header("x-action")).toBe(String(Action.INSERT));
    now += 2_000;
    const revalidated = await get("/etag");
    expect(state(revalidated)).toBe(State.FOUND | State.STALE | State.MUST_INSERT_OR_UPDATE);
    expect(revalidated.header("x-action")).toBe(String(Action.UPDATE));
    expect(revalidated.body).toBe("etag body");
    expect(origin.requests.filter((r) => r.url === "/etag").at(-1)?.headers["if-none-match"]).toBe('"v1"');
    expect(revalidated.header("x-max-age")).toBe("100");
    expect(revalidated.header("x-revalidated")).toBe("yes");
    const hit = await get("/etag");
    expect(state(hit)).toBe(State.FOUND | State.USABLE);
    expect(hit.body).toBe("etag body");
    expect(hit.header("x-revalidated")).toBe("yes");
    expect(hits("/etag")).toBe(2);
  });

  it("records responses that must not be stored, so later lookups go straight to the backend", async () => {
    const first = await get("/private");
    expect(first.header("x-action")).toBe(String(Action.RECORD_UNCACHEABLE));
    expect(first.body).toBe("private #1");
    const second = await get("/private");
    expect(state(second)).toBe(0); // neither found nor obliged: a hit-for-pass
    expect(second.body).toBe("private #2");
  });

  it("abandons what is not to be stored: the next lookup is obliged again", async () => {
    const first = await get("/error");
    expect(first.response.status).toBe(500);
    expect(first.header("x-action")).toBe(String(Action.DO_NOT_STORE));
    const second = await get("/error");
    expect(state(second)).toBe(State.MUST_INSERT_OR_UPDATE);
    expect(hits("/error")).toBe(2);
  });

  it("collapses concurrent transaction lookups onto one backend request, streaming to all", async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => get("/slow")));
    expect(new Set(all.map((r) => r.body))).toEqual(new Set(["chunk 0;chunk 1;chunk 2;chunk 3;"]));
    expect(hits("/slow")).toBe(1);
    const states = all.map(state).sort((a, b) => a - b);
    expect(states[0]).toBe(State.FOUND | State.USABLE);
    expect(states.filter((s) => s === State.MUST_INSERT_OR_UPDATE)).toHaveLength(1);
  });

  it("does not collapse plain lookups", async () => {
    const all = await Promise.all(Array.from({ length: 4 }, () => get("/slow-plain", { "x-plain": "1" })));
    expect(new Set(all.map((r) => r.body))).toEqual(new Set(["chunk 0;chunk 1;chunk 2;chunk 3;"]));
    expect(hits("/slow-plain")).toBeGreaterThan(1);
  });

  it("serves a stale response while one request revalidates it in the background", async () => {
    await get("/swr");
    now += 2_000;
    const stale = await get("/swr");
    expect(state(stale)).toBe(State.FOUND | State.USABLE | State.STALE | State.MUST_INSERT_OR_UPDATE);
    expect(stale.body).toBe("swr #1");
    await until(() => hits("/swr") === 2);
    await until(async () => (await get("/swr")).body === "swr #2");
    expect(hits("/swr")).toBe(2);
  });

  it("answers with the stale response when the backend fails within stale-if-error", async () => {
    await get("/sie");
    now += 2_000;
    failSie = true;
    const stale = await get("/sie");
    expect(stale.response.status).toBe(200);
    expect(stale.body).toBe("sie ok");
    expect(stale.header("x-stale-if-error")).toBe("1");
    expect(state(stale)).toBe(State.FOUND | State.USABLE | State.STALE | State.USABLE_IF_ERROR);
    // choose_stale leaves the object as it was: the next lookup is obliged to revalidate again.
    const again = await get("/sie");
    expect(again.body).toBe("sie ok");
    expect(state(again) & State.MUST_INSERT_OR_UPDATE).toBe(0);
    expect(hits("/sie")).toBe(3);
  });

  it("keeps variants apart by the vary rule", async () => {
    const en = await get("/vary", { "accept-language": "en" });
    expect(en.body).toBe("lang en #1");
    expect((await get("/vary", { "accept-language": "fr" })).body).toBe("lang fr #2");
    const enAgain = await get("/vary", { "accept-language": "en" });
    expect(state(enAgain)).toBe(State.FOUND | State.USABLE);
    expect(enAgain.body).toBe("lang en #1");
    expect(hits("/vary")).toBe(2);
  });

  it("stores with the guest's max age and surrogate keys", async () => {
    const miss = await get("/custom", { "x-ttl": "500", "x-keys": "mine also-mine" });
    expect(miss.header("x-max-age")).toBe("500");
    const hit = await get("/custom");
    expect(hit.header("x-max-age")).toBe("500");
    expect(hit.header("x-surrogate-keys")).toBe("mine also-mine");
    server.cache.purgeSurrogateKeys(["also-mine"], false);
    expect(state(await get("/custom"))).toBe(State.MUST_INSERT_OR_UPDATE);
  });

  it("adjusts found responses for the client: ranges and the client's validators", async () => {
    await get("/tagged");
    const ranged = await get("/tagged", { range: "bytes=2-5" });
    expect(ranged.response.status).toBe(206);
    expect(ranged.header("content-range")).toBe("bytes 2-5/10");
    expect(ranged.body).toBe("2345");
    expect((await get("/tagged", { range: "bytes=20-" })).response.status).toBe(416);
    const current = await get("/tagged", { "if-none-match": '"t1"' });
    expect(current.response.status).toBe(304);
    expect(current.body).toBe("");
    expect((await get("/tagged", { "if-none-match": '"other"' })).body).toBe("0123456789");
    expect(hits("/tagged")).toBe(1);
  });

  it("shares objects with the readthrough cache both ways; purges reach both", async () => {
    const viaReadthrough = await get("/shared-a", { "x-mode": "rt" });
    expect(viaReadthrough.header("x-cache")).toBe("MISS");
    const viaApi = await get("/shared-a");
    expect(state(viaApi)).toBe(State.FOUND | State.USABLE);
    expect(viaApi.body).toBe(viaReadthrough.body);

    const inserted = await get("/shared-b");
    expect(inserted.header("x-action")).toBe(String(Action.INSERT));
    const readBack = await get("/shared-b", { "x-mode": "rt" });
    expect(readBack.header("x-cache")).toBe("HIT");
    expect(readBack.body).toBe(inserted.body);
    expect(hits("/shared-a") + hits("/shared-b")).toBe(2);

    expect(server.cache.purgeSurrogateKeys(["shared"], false)).toBe(2);
    expect(state(await get("/shared-a"))).toBe(State.MUST_INSERT_OR_UPDATE);
    expect((await get("/shared-b", { "x-mode": "rt" })).header("x-cache")).toBe("MISS");
  });

  it("tags what it stores with its cache key, so that it can be purged by that key", async () => {
    await get("/by-key");
    expect(state(await get("/by-key"))).toBe(State.FOUND | State.USABLE);
    expect(server.cache.purgeSurrogateKeys([keyOf(server, "/by-key")], false)).toBe(1);
    expect(state(await get("/by-key"))).toBe(State.MUST_INSERT_OR_UPDATE);
  });
});

describe("HTTP Cache API obligations of a request that ends", () => {
  let origin: Origin;
  let server: TestServer;
  beforeAll(async () => {
    let first = true;
    origin = await startOrigin(async (_req, res) => {
      if (first) {
        // The first fetch never answers: its guest runs out of wall time holding the obligation.
        first = false;
        return new Promise<void>((resolve) => res.on("close", resolve));
      }
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end("finally");
    });
    server = await serve(watFixture("http-cache-proxy"), { backends: { origin: origin.url }, limits: { wallMs: 1_500 } });
  });
  afterAll(async () => {
    await server.close();
    await origin.close();
  });

  it("pass to a request that was waiting on them", async () => {
    const leader = server.get("/hang");
    await until(() => origin.requests.length > 0);
    // Well inside its own wall time when the leader's runs out.
    await sleep(700);
    const waiter = server.get("/hang");
    expect((await leader).status).toBe(503);
    const response = await waiter;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("finally");
    expect(response.headers.get("x-state")).toBe(String(State.MUST_INSERT_OR_UPDATE));
  });
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(20);
  }
}

describe("HttpCacheApi transactions (no guest)", () => {
  const head = (path: string, headers: string[] = []): RequestHead => ({
    method: "GET",
    uri: `http://example.test${path}`,
    version: 2,
    headers: ["host", "example.test", ...headers],
  });
  const response = (headers: string[] = []): ResponseHead => ({ status: 200, version: 2, headers: ["cache-control", "max-age=60", ...headers] });
  const options = (over: Partial<WriteOptions> = {}): WriteOptions => ({
    maxAgeNs: 60_000_000_000n,
    varyRule: null,
    initialAgeNs: 0n,
    staleWhileRevalidateNs: 0n,
    staleIfErrorNs: 0n,
    surrogateKeys: [],
    length: null,
    sensitive: false,
    ...over,
  });
  const body = (text: string): (() => BodyFeed) => () => ({
    chunks: (async function* () {
      yield new TextEncoder().encode(text);
    })(),
    trailers: () => null,
  });
  const owner = (rid: number, alive = () => true): Owner => ({ rid, alive });
  let now = 1_000_000;
  const setup = () => {
    const store = new CacheStore({ maxBytes: 1 << 20, now: () => now });
    return { store, api: new HttpCacheApi({ store, now: () => now }) };
  };
  const settled = async <T>(promise: Promise<T>) => {
    let done = false;
    void promise.then(() => (done = true));
    await sleep(10);
    return done;
  };

  it("makes later transaction lookups wait for the obligation and hands it on when it is abandoned", async () => {
    const { api } = setup();
    const first = await api.lookup(owner(1), head("/a"), null, true);
    expect(first.state).toBe(State.MUST_INSERT_OR_UPDATE);
    const second = api.lookup(owner(2), head("/a"), null, true);
    const third = api.lookup(owner(3), head("/a"), null, true);
    expect(await settled(second)).toBe(false);
    api.abandon(owner(1), first.id);
    // One waiter takes the obligation over; the other keeps waiting on it.
    const next = await second;
    expect(next.state).toBe(State.MUST_INSERT_OR_UPDATE);
    expect(await settled(third)).toBe(false);
    api.insert(owner(2), next.id, response(), options(), body("stored"), false);
    const found = await third;
    expect(found.state).toBe(State.FOUND | State.USABLE);
    expect(found.found?.hits).toBe(1);
  });

  it("releases the obligations of a request that ends, and forgets its transactions", async () => {
    const { api } = setup();
    const first = await api.lookup(owner(1), head("/b"), null, true);
    await api.lookup(owner(1), head("/other"), null, true);
    const waiting = api.lookup(owner(2), head("/b"), null, true);
    expect(await settled(waiting)).toBe(false);
    api.endOwner(1);
    expect((await waiting).state).toBe(State.MUST_INSERT_OR_UPDATE);
    expect(() => api.close(owner(1), first.id)).toThrow(expect.objectContaining({ status: Status.BADF }));
    expect(api.size).toBe(1);
    // A request that ended while waiting takes nothing.
    let alive = true;
    const late = api.lookup(owner(3, () => alive), head("/b"), null, true);
    alive = false;
    api.endOwner(2);
    await expect(late).rejects.toMatchObject({ status: 1 });
    expect((await api.lookup(owner(4), head("/b"), null, true)).state).toBe(State.MUST_INSERT_OR_UPDATE);
  });

  it("gives those waiting the stale response the obligated request chose, and records uncacheable ones", async () => {
    const { api } = setup();
    const first = await api.lookup(owner(1), head("/c"), null, true);
    api.insert(owner(1), first.id, response(), options({ maxAgeNs: 1_000_000_000n, staleIfErrorNs: 60_000_000_000n }), body("old"), false);
    now += 5_000;
    const stale = await api.lookup(owner(2), head("/c"), null, true);
    expect(stale.state).toBe(State.FOUND | State.STALE | State.MUST_INSERT_OR_UPDATE | State.USABLE_IF_ERROR);
    expect(stale.servable).toBe(false);
    const waiter = api.lookup(owner(3), head("/c"), null, true);
    expect(api.chooseStale(owner(2), stale.id).view.servable).toBe(true);
    const chosen = await waiter;
    expect(chosen.state).toBe(State.FOUND | State.USABLE | State.STALE | State.USABLE_IF_ERROR);
    expect(chosen.servable).toBe(true);

    const again = await api.lookup(owner(4), head("/c"), null, true);
    expect(again.state & State.MUST_INSERT_OR_UPDATE).toBeTruthy();
    const passer = api.lookup(owner(5), head("/c"), null, true);
    api.recordNotCacheable(owner(4), again.id, 30_000_000_000n);
    expect((await passer).state).toBe(0);
    expect((await api.lookup(owner(6), head("/c"), null, true)).state).toBe(0);
  });

  it("keeps the body and the variant when updating, with new headers, lifetime and surrogate keys", async () => {
    const { api, store } = setup();
    const first = await api.lookup(owner(1), head("/d", ["accept", "text/html"]), null, true);
    api.insert(owner(1), first.id, response(["etag", '"x"']), options({ maxAgeNs: 1_000_000_000n, varyRule: ["accept"], surrogateKeys: ["old"] }), body("kept"), false);
    now += 2_000;
    const stale = await api.lookup(owner(2), head("/d", ["accept", "text/html"]), null, true);
    expect(stale.validators).toEqual([["if-none-match", '"x"']]);
    const { fresh } = api.update(owner(2), stale.id, response(["etag", '"x"', "x-new", "1"]), options({ surrogateKeys: ["new"] }), true);
    expect(fresh?.state).toBe(State.FOUND | State.USABLE);
    const found = api.foundResponse(owner(2), fresh!.id, false);
    expect(found.head.headers).toContain("x-new");
    expect(Buffer.concat(await found.body!.toArray()).toString()).toBe("kept");
    expect(store.purgeSurrogateKeys(["old"], false)).toBe(0);
    expect((await api.lookup(owner(3), head("/d", ["accept", "text/html"]), null, true)).found?.varyRule).toBe("accept");
    expect(store.purgeSurrogateKeys(["new"], false)).toBe(1);
  });
});
