// js-compute's cache hooks (`CacheOverride` `beforeSend`/`afterSend`), which
// a guest built with `--enable-http-cache` runs on the HTTP Cache API, with
// the behaviour the platform documents
// (https://www.fastly.com/documentation/guides/concepts/edge-state/cache/#controlling-cache-behavior-based-on-backend-response):
// beforeSend changes the request that goes to the backend; afterSend's
// changes to the candidate response, its TTL and surrogate keys are what the
// cache stores; `cache: "uncacheable"` makes later requests skip the cache.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";

const present = toolchain("js-compute");

describe.skipIf(!present)("js-compute: fetch with cache hooks", () => {
  let origin: Origin;
  let server: TestServer;
  // Whole seconds, and origin Date headers from the same clock: ages start at 0.
  let now = Math.floor(Date.now() / 1000) * 1000;
  const requests = (path: string) => origin.requests.filter((r) => new URL(r.url, "http://x").pathname === path);

  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      const path = new URL(req.url!, "http://x").pathname;
      const n = requests(path).length;
      res.setHeader("date", new Date(now).toUTCString());
      if (path === "/etag") {
        if (req.headers["if-none-match"] === '"e1"') {
          res.writeHead(304, { "cache-control": "max-age=60", etag: '"e1"' });
          res.end();
          return;
        }
        res.writeHead(200, { "cache-control": "max-age=1", etag: '"e1"' });
        res.end("tagged body");
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=5", "surrogate-key": "from-origin" });
      res.end(`${path} #${n}`);
    });
    server = await serve(await jsCompute("test/fixtures/js/http-cache-hooks.js", ["--enable-http-cache"]), {
      backends: { origin: origin.url },
      // A js-compute guest is SpiderMonkey in Wasm: generous CPU time on a loaded machine.
      limits: { cpuMs: 2_000, wallMs: 30_000 },
      workers: 1,
      clock: () => now,
    });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  const get = async (path: string) => {
    const response = await server.get(path);
    return { status: response.status, body: await response.text(), header: (name: string) => response.headers.get(name) };
  };

  it("stores what afterSend decides (TTL, surrogate keys, headers) for the requests that follow", async () => {
    const miss = await get("/hooked?ttl=100&keys=one%20two");
    expect(miss.status).toBe(200);
    expect(miss.body).toBe("/hooked #1");
    expect(miss.header("x-cached")).toBe("false");
    expect(miss.header("x-cache")).toBe("MISS");
    // beforeSend changed the request that went to the backend.
    expect(requests("/hooked")[0].headers["x-before-send"]).toBe("1");

    now += 10_000; // past the origin's max-age=5, within afterSend's TTL of 100
    const hit = await get("/hooked?ttl=100&keys=one%20two");
    expect(hit.body).toBe("/hooked #1");
    expect(hit.header("x-cached")).toBe("true");
    expect(hit.header("x-cache")).toBe("HIT");
    expect(hit.header("x-after-send")).toBe("1");
    expect(hit.header("x-ttl")).toBe("90");
    expect(hit.header("x-keys")).toBe("one,two");
    expect(requests("/hooked")).toHaveLength(1);

    // The surrogate keys afterSend set are the ones a purge goes by.
    expect(server.cache.purgeSurrogateKeys(["two"], false)).toBe(1);
    const refetched = await get("/hooked?ttl=100&keys=one%20two");
    expect(refetched.body).toBe("/hooked #2");
    expect(refetched.header("x-cached")).toBe("false");
  });

  it("caches by the response's own headers without hooks", async () => {
    expect((await get("/plain?nohooks")).header("x-cached")).toBe("false");
    const hit = await get("/plain?nohooks");
    expect(hit.header("x-cached")).toBe("true");
    // Its Surrogate-Key, and the one the platform adds for every object (its cache key in hex).
    expect(hit.header("x-keys")).toMatch(/^from-origin,[0-9A-F]{64}$/);
    expect(hit.body).toBe("/plain #1");
    expect(requests("/plain")).toHaveLength(1);
  });

  it("sends every request to the backend after afterSend marks the response uncacheable", async () => {
    expect((await get("/never?uncacheable")).body).toBe("/never #1");
    const again = await get("/never?uncacheable");
    expect(again.body).toBe("/never #2");
    expect(again.header("x-cached")).toBe("false");
    expect(requests("/never")).toHaveLength(2);
  });

  it("stores the body afterSend's bodyTransformFn makes", async () => {
    expect((await get("/shout?upper")).body).toBe("/SHOUT #1");
    const hit = await get("/shout?upper");
    expect(hit.body).toBe("/SHOUT #1");
    expect(hit.header("x-cached")).toBe("true");
    expect(requests("/shout")).toHaveLength(1);
  });

  it("revalidates a stale response with the backend and keeps serving its body", async () => {
    expect((await get("/etag?nohooks")).body).toBe("tagged body");
    now += 2_000;
    const revalidated = await get("/etag?nohooks");
    expect(revalidated.status).toBe(200);
    expect(revalidated.body).toBe("tagged body");
    expect(requests("/etag")[1].headers["if-none-match"]).toBe('"e1"');
    const hit = await get("/etag?nohooks");
    expect(hit.body).toBe("tagged body");
    expect(hit.header("x-cached")).toBe("true");
    expect(requests("/etag")).toHaveLength(2);
  });
});
