// Response directives (RFC 9111 §5.2.2, RFC 9213) and the platform's
// storability rules (cacheable statuses, Set-Cookie): what may be stored, and
// how a stored response may be used.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixed, type Harness, startHarness } from "./harness.ts";

describe("conformance: response directives", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  /** Fetches `path` twice from different clients and says whether the second came from the cache. */
  async function storedAfterOne(path: string, headers: Record<string, string> = {}): Promise<boolean> {
    const before = h.originHits(path);
    await h.get(path, headers);
    const second = await h.get(path);
    return h.originHits(path) - before === 1 && second.header("x-cache") === "HIT";
  }

  for (const [name, headers] of [
    ["Cache-Control: no-store (RFC 9111 §5.2.2.5)", { "cache-control": "max-age=600, no-store" }],
    ["Surrogate-Control: no-store", { "surrogate-control": "no-store", "cache-control": "max-age=600" }],
    ["CDN-Cache-Control: no-store (RFC 9213 §2.2)", { "cdn-cache-control": "no-store", "cache-control": "max-age=600" }],
    ["Cache-Control: private (RFC 9111 §5.2.2.7)", { "cache-control": "private, max-age=600" }],
    ["private even with a Surrogate-Control lifetime (platform)", { "cache-control": "private", "surrogate-control": "max-age=600" }],
    ["Set-Cookie (platform)", { "cache-control": "max-age=600", "set-cookie": "session=abc" }],
  ] as const) {
    it(`never stores a response with ${name}`, async () => {
      const path = `/never-${name.replace(/\W+/g, "-")}`;
      h.route(path, fixed(headers));
      expect(await storedAfterOne(path)).toBe(false);
      // Nor serves it to anyone later: every request reaches the origin.
      await h.get(path);
      expect(h.originHits(path)).toBe(3);
    });
  }

  it("RFC 9111 §5.2.2.7: concurrent requests collapsed onto one fetch never share a private response", async () => {
    h.route("/private-collapsed", async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.writeHead(200, { "cache-control": "private, max-age=600" });
      res.end(`for ${req.headers["x-user"]}`);
    });
    const users = ["u1", "u2", "u3", "u4", "u5", "u6"];
    const answers = await Promise.all(users.map((user) => h.get("/private-collapsed", { "x-user": user })));
    expect(answers.map((a) => a.text)).toEqual(users.map((user) => `for ${user}`));
    expect(h.originHits("/private-collapsed")).toBe(users.length);
  });

  it("RFC 9111 §5.2.2.5: a response that now says no-store replaces what was stored", async () => {
    let cc = "max-age=10";
    h.route("/changed-mind", (_req, res, n) => {
      res.writeHead(200, { "cache-control": cc });
      res.end(`v${n}`);
    });
    expect(await storedAfterOne("/changed-mind")).toBe(true);
    h.clock.advance(10);
    cc = "no-store";
    expect((await h.get("/changed-mind")).text).toBe("v2");
    expect((await h.get("/changed-mind")).text).toBe("v3");
  });

  it("after an uncacheable response, requests pass (hit-for-pass) until the marker lapses", async () => {
    let cc = "private";
    h.route("/hfp", (_req, res, n) => {
      res.writeHead(200, { "cache-control": cc });
      res.end(`v${n}`);
    });
    await h.get("/hfp");
    cc = "max-age=600";
    expect((await h.get("/hfp")).header("x-cache")).toBe("PASS");
    h.clock.advance(121);
    expect((await h.get("/hfp")).header("x-cache")).toBe("MISS");
    expect((await h.get("/hfp")).header("x-cache")).toBe("HIT");
  });

  it("RFC 9213 §2.2: a valid CDN-Cache-Control replaces Cache-Control for the cache", async () => {
    h.route("/cdn-over-cc", fixed({ "cdn-cache-control": "max-age=600", "cache-control": "no-store" }));
    expect(await storedAfterOne("/cdn-over-cc")).toBe(true);
    // ...and Cache-Control still reaches the client for browsers.
    expect((await h.get("/cdn-over-cc")).header("cache-control")).toBe("no-store");
    h.route("/cdn-private", fixed({ "cdn-cache-control": "private", "cache-control": "max-age=600" }));
    expect(await storedAfterOne("/cdn-private")).toBe(false);
    // An empty or unparsable one is ignored (Cache-Control applies).
    h.route("/cdn-empty", fixed({ "cdn-cache-control": "", "cache-control": "no-store" }));
    expect(await storedAfterOne("/cdn-empty")).toBe(false);
  });

  it('RFC 9111 §5.2.2.7: private="field" stores the response without that field; the requester still gets it', async () => {
    h.route("/private-field", fixed({ "cache-control": 'max-age=600, private="X-User, x-token"', "x-user": "alice", "x-token": "t", "x-public": "p" }));
    const first = await h.get("/private-field");
    expect(first.header("x-user")).toBe("alice");
    expect(first.header("x-token")).toBe("t");
    const second = await h.get("/private-field");
    expect(second.header("x-cache")).toBe("HIT");
    expect(second.header("x-user")).toBeUndefined();
    expect(second.header("x-token")).toBeUndefined();
    expect(second.header("x-public")).toBe("p");
  });

  it('RFC 9111 §5.2.2.4: no-cache="Set-Cookie" makes a cookie-setting response storable without its cookie', async () => {
    h.route("/cookie-field", fixed({ "cache-control": 'max-age=600, no-cache="Set-Cookie"', "set-cookie": "session=alice" }));
    const first = await h.get("/cookie-field");
    expect(first.header("set-cookie")).toBe("session=alice");
    const second = await h.get("/cookie-field");
    expect(second.header("x-cache")).toBe("HIT");
    expect(second.header("set-cookie")).toBeUndefined();
  });

  it("RFC 9111 §5.2.2.4: no-cache is stored but validated before every use", async () => {
    h.route("/no-cache", (req, res, n) => {
      if (req.headers["if-none-match"] === '"nc"') {
        res.writeHead(304, { etag: '"nc"', "cache-control": "no-cache, stale-while-revalidate=600" });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"nc"', "cache-control": "no-cache, stale-while-revalidate=600, stale-if-error=600" });
      res.end(`body ${n}`);
    });
    await h.get("/no-cache");
    for (let i = 0; i < 3; i++) {
      const again = await h.get("/no-cache");
      expect(again.text).toBe("body 1");
      expect(again.header("cache-status")).toContain("fwd-status=304");
    }
    // Every use went to the origin, conditionally: stale-while-revalidate does not apply to no-cache (§4.2.4).
    const requests = h.originRequests("/no-cache");
    expect(requests).toHaveLength(4);
    expect(requests.slice(1).map((r) => r.headers["if-none-match"])).toEqual(['"nc"', '"nc"', '"nc"']);
  });

  it("no-cache meant for browsers does not apply when Surrogate-Control gives the cache a lifetime (platform)", async () => {
    h.route("/no-cache-surrogate", fixed({ "cache-control": "no-cache", "surrogate-control": "max-age=60" }));
    expect(await storedAfterOne("/no-cache-surrogate")).toBe(true);
    // The client still gets the browser-facing directive.
    expect((await h.get("/no-cache-surrogate")).header("cache-control")).toBe("no-cache");
  });

  it("RFC 9111 §5.2.2.2: must-revalidate forbids serving stale, even with stale-if-error", async () => {
    let down = false;
    h.route("/must-revalidate", (req, res) => {
      if (down) return void req.socket.destroy();
      res.writeHead(200, { "cache-control": "max-age=10, must-revalidate, stale-if-error=600, stale-while-revalidate=600" });
      res.end("fresh");
    });
    await h.get("/must-revalidate");
    h.clock.advance(10);
    down = true;
    const failed = await h.get("/must-revalidate");
    expect(failed.status).toBe(502);
    expect(failed.text).not.toBe("fresh");
    h.route("/must-revalidate", fixed({ "cache-control": "max-age=10, must-revalidate" }, "", 503));
    expect((await h.get("/must-revalidate")).status).toBe(503);
  });

  it("RFC 9111 §5.2.2.10: s-maxage applies to the shared cache in place of max-age", async () => {
    h.route("/s-maxage", fixed({ "cache-control": "max-age=0, s-maxage=60" }));
    expect(await storedAfterOne("/s-maxage")).toBe(true);
    h.clock.advance(60);
    expect((await h.get("/s-maxage")).header("x-cache")).toBe("MISS");
  });

  describe("RFC 9111 §3.5: requests with Authorization", () => {
    const auth = { authorization: "Bearer secret" };
    it("are not stored by default", async () => {
      h.route("/auth-default", fixed({ "cache-control": "max-age=600" }));
      expect(await storedAfterOne("/auth-default", auth)).toBe(false);
    });
    for (const directive of ["public", "s-maxage=600", "must-revalidate"]) {
      it(`are stored when the response says ${directive}`, async () => {
        const path = `/auth-${directive.replace(/\W+/g, "")}`;
        h.route(path, fixed({ "cache-control": `max-age=600, ${directive}` }));
        expect(await storedAfterOne(path, auth)).toBe(true);
      });
    }
  });

  describe("the platform's cacheable statuses", () => {
    for (const status of [200, 203, 300, 301, 302, 404, 410]) {
      it(`stores ${status}`, async () => {
        const path = `/status-${status}`;
        h.route(path, fixed({ "cache-control": "max-age=600", location: "/elsewhere" }, `status ${status}`, status));
        expect(await storedAfterOne(path)).toBe(true);
        const hit = await h.get(path);
        expect(hit.status).toBe(status);
        expect(hit.text).toBe(`status ${status}`);
      });
    }
    for (const status of [201, 204, 206, 307, 308, 400, 403, 405, 500, 502, 503]) {
      it(`does not store ${status}`, async () => {
        const path = `/status-${status}`;
        h.route(path, fixed({ "cache-control": "max-age=600", location: "/elsewhere" }, status === 204 ? "" : `status ${status}`, status));
        expect(await storedAfterOne(path)).toBe(false);
      });
    }
  });
});
