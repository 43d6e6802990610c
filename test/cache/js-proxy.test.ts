// The readthrough cache under a real SDK guest: a js-compute proxy that
// calls `fetch(event.request, { backend: "origin" })` and returns the
// response as is (test/fixtures/js/cache-proxy.js). js-compute reaches
// origins with send_async + pending_req_wait_v2, which go through the cache
// like `send` does; its CacheOverride becomes cache_override_v2_set.
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { eventually, fixed, type Harness, startHarness } from "./conformance/harness.ts";

const present = toolchain("js-compute");

describe.skipIf(!present)("readthrough cache under a js-compute proxy", () => {
  let h: Harness;
  beforeAll(async () => {
    // A js-compute guest needs more than the default CPU budget on a loaded machine (see js-compute.test.ts).
    h = await startHarness({ guest: await jsCompute("test/fixtures/js/cache-proxy.js"), server: { limits: { cpuMs: 1_000 }, workers: 1 } });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  it("answers the second request for a cacheable URL without the origin", async () => {
    h.route("/js-hit", fixed({ "cache-control": "max-age=60", "content-type": "text/plain" }, "cached body"));
    const first = await h.get("/js-hit");
    expect(first.status).toBe(200);
    expect(first.header("x-cache")).toBe("MISS");
    const second = await h.get("/js-hit");
    expect(second.header("x-cache")).toBe("HIT");
    expect(second.text).toBe("cached body");
    expect(second.header("content-type")).toBe("text/plain");
    expect(h.originHits("/js-hit")).toBe(1);
    h.clock.advance(60);
    expect((await h.get("/js-hit")).header("x-cache")).toBe("MISS");
    expect(h.originHits("/js-hit")).toBe(2);
  });

  it("decodes a cached gzip response on a hit as on the miss, when the guest asks", async () => {
    const text = "squeezed ".repeat(300);
    const squeezed = gzipSync(text);
    h.route("/js-gzip", (_req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60", "content-encoding": "gzip" });
      res.end(squeezed);
    });
    const miss = await h.get("/js-gzip", { "x-decompress": "1" });
    const hit = await h.get("/js-gzip", { "x-decompress": "1" });
    expect([miss.header("x-cache"), miss.text, miss.header("content-encoding")]).toEqual(["MISS", text, undefined]);
    expect([hit.header("x-cache"), hit.text, hit.header("content-encoding")]).toEqual(["HIT", text, undefined]);
    // The cache keeps what the origin sent: without the option, the gzip bytes.
    const raw = await h.get("/js-gzip");
    expect([raw.header("x-cache"), raw.header("content-encoding")]).toEqual(["HIT", "gzip"]);
    expect(h.originHits("/js-gzip")).toBe(1);
  });

  it("keeps Vary variants apart", async () => {
    h.route("/js-vary", (req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=60", vary: "accept-language" });
      res.end(`${req.headers["accept-language"]} #${n}`);
    });
    expect((await h.get("/js-vary", { "accept-language": "en" })).text).toBe("en #1");
    expect((await h.get("/js-vary", { "accept-language": "fr" })).text).toBe("fr #2");
    expect((await h.get("/js-vary", { "accept-language": "en" })).text).toBe("en #1");
    expect((await h.get("/js-vary", { "accept-language": "fr" })).text).toBe("fr #2");
    expect(h.originHits("/js-vary")).toBe(2);
  });

  for (const cc of ["no-store", "private"]) {
    it(`never serves a ${cc} response to another client`, async () => {
      const path = `/js-${cc}`;
      h.route(path, (req, res) => {
        res.writeHead(200, { "cache-control": `${cc}, max-age=60` });
        res.end(`for ${req.headers["x-user"]}`);
      });
      expect((await h.get(path, { "x-user": "alice" })).text).toBe("for alice");
      const bob = await h.get(path, { "x-user": "bob" });
      expect(bob.text).toBe("for bob");
      expect(bob.header("x-cache")).not.toBe("HIT");
      expect(h.originHits(path)).toBe(2);
    });
  }

  it("revalidates a stale response; the 304 refreshes its headers and keeps its body", async () => {
    h.route("/js-304", (req, res, n) => {
      if (req.headers["if-none-match"] === '"j"') {
        res.writeHead(304, { etag: '"j"', "cache-control": "max-age=60", "x-generation": String(n) });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"j"', "cache-control": "max-age=10", "x-generation": String(n) });
      res.end("the body");
    });
    await h.get("/js-304");
    h.clock.advance(10);
    const revalidated = await h.get("/js-304");
    expect(h.originRequests("/js-304")[1].headers["if-none-match"]).toBe('"j"');
    expect(revalidated.status).toBe(200);
    expect(revalidated.text).toBe("the body");
    expect(revalidated.header("x-generation")).toBe("2");
    h.clock.advance(59);
    const hit = await h.get("/js-304");
    expect(hit.header("x-cache")).toBe("HIT");
    expect(hit.header("x-generation")).toBe("2");
    expect(h.originHits("/js-304")).toBe(2);
  });

  it("serves stale-while-revalidate and fetches once", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.route("/js-swr", async (_req, res, n) => {
      if (n > 1) await held;
      res.writeHead(200, { "cache-control": "max-age=10, stale-while-revalidate=60" });
      res.end(`version ${n}`);
    });
    await h.get("/js-swr");
    h.clock.advance(20);
    const stale = await Promise.all(Array.from({ length: 8 }, () => h.get("/js-swr")));
    expect(stale.map((r) => r.text)).toEqual(Array(8).fill("version 1"));
    await eventually(() => h.originHits("/js-swr") === 2, "the revalidation");
    release();
    await eventually(async () => (await h.get("/js-swr")).text === "version 2", "the revalidated object");
    expect(h.originHits("/js-swr")).toBe(2);
  });

  it('CacheOverride("override", { ttl, swr, surrogateKey }) sets the lifetime, the stale window and a purge key', async () => {
    h.route("/js-override", fixed({ "cache-control": "no-cache", "surrogate-key": "from-origin" }));
    const override = { "x-cache-override": "override", "x-ttl": "30", "x-swr": "60", "x-surrogate-key": "js-key other-key" };
    await h.get("/js-override", override);
    h.clock.advance(29);
    expect((await h.get("/js-override", override)).header("x-cache")).toBe("HIT");
    // Past the TTL but within the override's stale-while-revalidate: served stale while one refresh runs.
    h.clock.advance(2);
    const stale = await h.get("/js-override", override);
    expect(stale.text).toBe("response 1");
    expect(stale.header("cache-status")).toContain("stale-while-revalidate");
    await eventually(async () => (await h.get("/js-override", override)).text === "response 2", "the refreshed object");
    // The override's keys tag the object alongside the origin's.
    await h.purgeKey("js-key");
    expect((await h.get("/js-override", override)).header("x-cache")).toBe("MISS");
    await h.purgeKey("from-origin");
    expect((await h.get("/js-override", override)).header("x-cache")).toBe("MISS");
  });

  it('CacheOverride("pass") always goes to the origin and stores nothing', async () => {
    h.route("/js-pass", fixed({ "cache-control": "max-age=600" }));
    const pass = { "x-cache-override": "pass" };
    const first = await h.get("/js-pass", pass);
    expect(first.header("x-cache")).toBe("PASS");
    expect((await h.get("/js-pass", pass)).text).toBe("response 2");
    // Nothing was stored by the passes: the first plain request is a miss.
    expect((await h.get("/js-pass")).header("x-cache")).toBe("MISS");
    expect(h.originHits("/js-pass")).toBe(3);
  });
});
