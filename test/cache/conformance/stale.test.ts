// Serving stale responses (RFC 5861; RFC 9111 §4.2.4): stale-while-revalidate
// answers at once from the stale object while exactly one request refreshes
// it; stale-if-error answers from it when the origin fails; past their
// windows the cache goes to the origin and reports what it says.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventually, fixed, type Harness, startHarness } from "./harness.ts";

/** A gate the origin waits on, so a test can hold a revalidation in flight. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe("conformance: stale serving", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  it("RFC 5861 §3: stale-while-revalidate serves stale at once and revalidates exactly once", async () => {
    const held = gate();
    h.route("/swr", async (_req, res, n) => {
      if (n > 1) await held.wait;
      res.writeHead(200, { "cache-control": "max-age=10, stale-while-revalidate=60" });
      res.end(`version ${n}`);
    });
    await h.get("/swr");
    h.clock.advance(15);
    // The revalidation is held at the origin: these can only be answered from the stale object.
    const stale = await Promise.all(Array.from({ length: 30 }, () => h.get("/swr")));
    expect(new Set(stale.map((r) => r.text))).toEqual(new Set(["version 1"]));
    for (const r of stale) {
      expect(r.header("x-cache")).toBe("HIT");
      expect(r.header("cache-status")).toContain("detail=stale-while-revalidate");
      expect(r.header("age")).toBe("15");
    }
    await eventually(() => h.originHits("/swr") === 2, "the revalidation to reach the origin");
    held.open();
    await eventually(async () => (await h.get("/swr")).text === "version 2", "the revalidated object");
    const fresh = await h.get("/swr");
    expect(fresh.header("x-cache")).toBe("HIT");
    expect(fresh.header("cache-status")).not.toContain("stale");
    expect(h.originHits("/swr")).toBe(2);
  });

  it("RFC 5861 §3 with RFC 9111 §4.3: the background revalidation is conditional, and its 304 freshens", async () => {
    h.route("/swr-304", (req, res, n) => {
      const headers = { etag: '"s"', "cache-control": "max-age=10, stale-while-revalidate=60" };
      res.writeHead(req.headers["if-none-match"] === '"s"' ? 304 : 200, headers);
      res.end(req.headers["if-none-match"] ? undefined : `body ${n}`);
    });
    await h.get("/swr-304");
    h.clock.advance(12);
    expect((await h.get("/swr-304")).header("cache-status")).toContain("stale-while-revalidate");
    await eventually(async () => !(await h.get("/swr-304")).header("cache-status")!.includes("stale"), "the freshened object");
    const hit = await h.get("/swr-304");
    expect(hit.text).toBe("body 1");
    expect(hit.header("age")).toBe("0");
    expect(h.originRequests("/swr-304")[1].headers["if-none-match"]).toBe('"s"');
    expect(h.originHits("/swr-304")).toBe(2);
  });

  it("RFC 5861 §3: past the stale-while-revalidate window the request waits for the origin", async () => {
    h.route("/swr-past", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=10, stale-while-revalidate=20" });
      res.end(`version ${n}`);
    });
    await h.get("/swr-past");
    h.clock.advance(30);
    const answer = await h.get("/swr-past");
    expect(answer.header("x-cache")).toBe("MISS");
    expect(answer.text).toBe("version 2");
  });

  it("RFC 5861 §4: stale-if-error serves the stale response when the origin answers 5xx", async () => {
    let failing = false;
    h.route("/sie-5xx", (_req, res, n) => {
      if (failing) {
        res.writeHead(503, { "cache-control": "no-store" });
        res.end("origin down");
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=10, stale-if-error=60" });
      res.end(`version ${n}`);
    });
    await h.get("/sie-5xx");
    h.clock.advance(30);
    failing = true;
    const rescued = await h.get("/sie-5xx");
    expect(rescued.status).toBe(200);
    expect(rescued.text).toBe("version 1");
    expect(rescued.header("cache-status")).toContain("detail=stale-if-error");
    expect(rescued.header("age")).toBe("30");
    // The stored response is still there for the next failure.
    expect((await h.get("/sie-5xx")).text).toBe("version 1");
    // Past the window (10 s fresh + 60 s): the error goes through.
    h.clock.advance(40);
    const failed = await h.get("/sie-5xx");
    expect(failed.status).toBe(503);
    expect(failed.text).toBe("origin down");
  });

  it("RFC 5861 §4: stale-if-error covers an origin that cannot be reached", async () => {
    let failing = false;
    h.route("/sie-conn", (req, res, n) => {
      if (failing) return void req.socket.destroy();
      res.writeHead(200, { "surrogate-control": "max-age=10, stale-if-error=60" });
      res.end(`version ${n}`);
    });
    await h.get("/sie-conn");
    h.clock.advance(20);
    failing = true;
    const rescued = await h.get("/sie-conn");
    expect(rescued.status).toBe(200);
    expect(rescued.text).toBe("version 1");
    expect(rescued.header("cache-status")).toContain("stale-if-error");
    h.clock.advance(60);
    // Past the window the guest sees its send fail (the WAT proxy answers 502).
    const failed = await h.get("/sie-conn");
    expect(failed.status).toBe(502);
    expect(failed.header("x-send-status")).toBeDefined();
  });

  it("RFC 5861 §4: a 4xx is not an error stale-if-error hides", async () => {
    let gone = false;
    h.route("/sie-4xx", (_req, res, n) => {
      res.writeHead(gone ? 404 : 200, { "cache-control": "max-age=10, stale-if-error=60" });
      res.end(gone ? "gone" : `version ${n}`);
    });
    await h.get("/sie-4xx");
    h.clock.advance(11);
    gone = true;
    const answer = await h.get("/sie-4xx");
    expect(answer.status).toBe(404);
    expect(answer.text).toBe("gone");
  });

  it("a HEAD to a stale URL goes to the origin and leaves the stored GET for stale-if-error", async () => {
    let failing = false;
    h.route("/sie-head", (req, res, n) => {
      if (failing) return void req.socket.destroy();
      res.writeHead(200, { "cache-control": "max-age=10, stale-if-error=600" });
      res.end(req.method === "HEAD" ? undefined : `version ${n}`);
    });
    await h.get("/sie-head");
    h.clock.advance(11);
    const head = await h.request("HEAD", "/sie-head");
    expect(head.status).toBe(200);
    expect(h.originRequests("/sie-head").at(-1)!.method).toBe("HEAD");
    failing = true;
    const rescued = await h.get("/sie-head");
    expect(rescued.status).toBe(200);
    expect(rescued.text).toBe("version 1");
  });

  it("RFC 5861: without stale-while-revalidate or stale-if-error a stale response is never served", async () => {
    let failing = false;
    h.route("/no-stale", (req, res) => {
      if (failing) return void req.socket.destroy();
      res.writeHead(200, { "cache-control": "max-age=10" });
      res.end("ok");
    });
    await h.get("/no-stale");
    h.clock.advance(10);
    failing = true;
    expect((await h.get("/no-stale")).status).toBe(502);
  });

  it("a soft purge makes the object stale: served stale-while-revalidate, refreshed once", async () => {
    h.route("/soft", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=600, stale-while-revalidate=60", "surrogate-key": "soft-key" });
      res.end(`version ${n}`);
    });
    await h.get("/soft");
    const purged = await h.request("GET", "/", { "x-purge-key": "soft-key", "x-purge-soft": "1" });
    expect(purged.status).toBe(204);
    const stale = await h.get("/soft");
    expect(stale.text).toBe("version 1");
    expect(stale.header("cache-status")).toContain("stale-while-revalidate");
    await eventually(async () => (await h.get("/soft")).text === "version 2", "the refreshed object");
    expect(h.originHits("/soft")).toBe(2);
  });

  it("the guest's stale-while-revalidate override applies to responses that have none", async () => {
    h.route("/swr-override", fixed({ "cache-control": "max-age=10" }));
    const override = { "x-override-tag": "4", "x-override-swr": "60" };
    await h.get("/swr-override", override);
    h.clock.advance(20);
    const stale = await h.get("/swr-override", override);
    expect(stale.text).toBe("response 1");
    expect(stale.header("cache-status")).toContain("stale-while-revalidate");
    await eventually(async () => (await h.get("/swr-override")).text === "response 2", "the refreshed object");
  });
});
