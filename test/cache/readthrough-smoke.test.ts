// The readthrough cache's main promises, end to end through a WAT proxy guest.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { rawRequest } from "../helpers/raw-client.ts";
import { watFixture } from "../helpers/wat.ts";

describe("readthrough cache", () => {
  let origin: Origin;
  let server: TestServer;
  beforeAll(async () => {
    origin = await startOrigin(async (req, res) => {
      const url = new URL(req.url!, "http://x");
      if (url.pathname.startsWith("/slow")) {
        res.writeHead(200, { "cache-control": "max-age=60", "surrogate-key": "slow all" });
        for (let i = 0; i < 5; i++) {
          res.write(`chunk ${i};`);
          await sleep(40);
        }
        res.end();
        return;
      }
      res.setHeader("cache-control", url.searchParams.get("cc") ?? "max-age=60");
      res.setHeader("surrogate-key", url.searchParams.get("sk") ?? "all");
      res.end(`body of ${url.pathname} #${origin.requests.length}`);
    });
    server = await serve(watFixture("cache-proxy"), { backends: { origin: origin.url } });
  });
  afterAll(async () => {
    await server.close();
    await origin.close();
  });
  const count = (path: string) => origin.requests.filter((r) => r.url.startsWith(path)).length;

  it("answers the second request from the cache", async () => {
    const first = await server.get("/a");
    expect(first.headers.get("x-cache")).toBe("MISS");
    const body = await first.text();
    const second = await server.get("/a");
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(second.headers.get("x-cache-hits")).toBe("1");
    expect(second.headers.get("cache-status")).toMatch(/^Outpost; hit; ttl=\d+/);
    expect(await second.text()).toBe(body);
    expect(count("/a")).toBe(1);
  });

  it("collapses 100 concurrent misses onto one origin request, streaming to all", async () => {
    const responses = await Promise.all(Array.from({ length: 100 }, () => server.get("/slow")));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(bodies)).toEqual(new Set(["chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;"]));
    expect(count("/slow")).toBe(1);
  });

  it("never stores private or no-store responses", async () => {
    for (const cc of ["private", "no-store"]) {
      await (await server.get(`/p-${cc}?cc=${cc}`)).text();
      const again = await server.get(`/p-${cc}?cc=${cc}`);
      // The first response left a hit-for-pass marker: later requests go straight to the origin.
      expect(again.headers.get("x-cache")).toBe("PASS");
      await again.text();
      expect(count(`/p-${cc}`)).toBe(2);
    }
  });

  it("purges by surrogate key from a guest", async () => {
    await (await server.get("/k1?sk=red")).text();
    await (await server.get("/k2?sk=blue")).text();
    expect((await server.get("/k1?sk=red")).headers.get("x-cache")).toBe("HIT");
    expect((await server.get("/", { headers: { "x-purge-key": "red" } })).status).toBe(204);
    expect((await server.get("/k1?sk=red")).headers.get("x-cache")).toBe("MISS");
    expect((await server.get("/k2?sk=blue")).headers.get("x-cache")).toBe("HIT");
  });

  it("strips Surrogate-Key and Surrogate-Control from client responses unless Fastly-Debug asks", async () => {
    const plain = await server.get("/sk-strip?sk=one");
    expect(plain.headers.get("surrogate-key")).toBeNull();
    await plain.text();
    const debug = await server.get("/sk-strip?sk=one", { headers: { "fastly-debug": "1" } });
    expect(debug.headers.get("surrogate-key")).toBe("one");
    await debug.text();
  });

  it("answers HEAD with the Content-Length a GET would have", async () => {
    const get = await server.get("/h");
    const length = get.headers.get("content-length");
    await get.text();
    for (const path of ["/h", "/h-miss"]) {
      const head = await rawRequest(server.url + path, { method: "HEAD" });
      expect(head.status).toBe(200);
      // A miss is passed to the origin as a HEAD; node:http's origin sends no length for it, and none is made up.
      expect(head.headers["content-length"]).toBe(path === "/h" ? length : undefined);
    }
  });

  it("honours a guest's pass and TTL overrides", async () => {
    await (await server.get("/o?cc=private", { headers: { "x-override-tag": "2", "x-override-ttl": "30" } })).text();
    const passed = await server.get("/o2", { headers: { "x-override-tag": "1" } });
    expect(passed.headers.get("x-cache")).toBe("PASS");
    await passed.text();
    await (await server.get("/o2", { headers: { "x-override-tag": "1" } })).text();
    expect(count("/o2")).toBe(2);
  });
});
