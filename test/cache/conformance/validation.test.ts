// Validation (RFC 9111 §4.3): a stale stored response with validators is
// revalidated with a conditional request; a 304 freshens it and keeps its
// body, a 200 replaces it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness.ts";

describe("conformance: validation", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  it("RFC 9111 §4.3.1: a stale response with an ETag is revalidated with If-None-Match", async () => {
    h.route("/etag", (req, res, n) => {
      if (req.headers["if-none-match"] === '"v1"') {
        res.writeHead(304, { etag: '"v1"', "cache-control": "max-age=10" });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', "cache-control": "max-age=10", "content-type": "text/plain" });
      res.end(`body ${n}`);
    });
    expect((await h.get("/etag")).text).toBe("body 1");
    h.clock.advance(10);
    const revalidated = await h.get("/etag");
    expect(h.originRequests("/etag")[1].headers["if-none-match"]).toBe('"v1"');
    expect(revalidated.status).toBe(200);
    expect(revalidated.text).toBe("body 1");
    expect(revalidated.header("content-type")).toBe("text/plain");
    expect(revalidated.header("cache-status")).toContain("fwd-status=304");
  });

  it("RFC 9111 §4.3.1: Last-Modified is sent back as If-Modified-Since", async () => {
    const lastModified = h.clock.httpDate(-3600);
    h.route("/last-modified", (req, res, n) => {
      if (req.headers["if-modified-since"] === lastModified) {
        res.writeHead(304, { "cache-control": "max-age=10" });
        res.end();
        return;
      }
      res.writeHead(200, { "last-modified": lastModified, "cache-control": "max-age=10" });
      res.end(`body ${n}`);
    });
    await h.get("/last-modified");
    h.clock.advance(11);
    const revalidated = await h.get("/last-modified");
    expect(h.originRequests("/last-modified")[1].headers["if-modified-since"]).toBe(lastModified);
    expect(revalidated.text).toBe("body 1");
  });

  it("RFC 9111 §4.3.4: a 304 refreshes freshness and merges its header fields, keeping the body", async () => {
    h.route("/merge", (req, res, n) => {
      if (req.headers["if-none-match"]) {
        res.writeHead(304, { etag: '"m"', "cache-control": "max-age=100", "x-version": "2", "content-length": "0" });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"m"', "cache-control": "max-age=10", "x-version": "1", "x-untouched": "yes" });
      res.end(`the original body ${n}`);
    });
    await h.get("/merge");
    h.clock.advance(10);
    const revalidated = await h.get("/merge");
    expect(revalidated.text).toBe("the original body 1");
    expect(revalidated.header("x-version")).toBe("2");
    expect(revalidated.header("x-untouched")).toBe("yes");
    // §3.2: the 304's Content-Length describes no content and does not replace the stored one's.
    expect(revalidated.header("content-length")).toBe(String("the original body 1".length));
    // Fresh again, for the 304's lifetime: served from the cache without asking.
    h.clock.advance(100 - 0.001);
    const hit = await h.get("/merge");
    expect(hit.header("x-cache")).toBe("HIT");
    expect(hit.text).toBe("the original body 1");
    expect(hit.header("x-version")).toBe("2");
    expect(h.originHits("/merge")).toBe(2);
  });

  it("RFC 9111 §4.3.4: the response's age restarts with the 304 (no stale Age or Date carried over)", async () => {
    h.route("/reage", (req, res) => {
      if (req.headers["if-none-match"]) {
        // No Age, and no Date either: the cache dates it on receipt (RFC 9110 §6.6.1).
        res.removeHeader("date");
        res.writeHead(304, { etag: '"r"' });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"r"', "cache-control": "max-age=60", age: "50" });
      res.end("aged");
    });
    await h.get("/reage");
    h.clock.advance(10);
    const revalidated = await h.get("/reage");
    expect(revalidated.header("cache-status")).toContain("fwd-status=304");
    expect(revalidated.header("age")).toBe("0");
    h.clock.advance(59);
    const hit = await h.get("/reage");
    expect(hit.header("x-cache")).toBe("HIT");
    expect(hit.header("age")).toBe("59");
    expect(h.originHits("/reage")).toBe(2);
  });

  it("RFC 9111 §4.3.4: a 304 naming another entity tag updates nothing: the cache asks again, unconditionally", async () => {
    h.route("/other-tag", (req, res, n) => {
      if (req.headers["if-none-match"]) {
        res.writeHead(304, { etag: '"v2"', "cache-control": "max-age=10" });
        res.end();
        return;
      }
      res.writeHead(200, { etag: n === 1 ? '"v1"' : '"v2"', "cache-control": "max-age=10" });
      res.end(`version ${n}`);
    });
    await h.get("/other-tag");
    h.clock.advance(10);
    const answer = await h.get("/other-tag");
    expect(answer.status).toBe(200);
    expect(answer.text).toBe("version 3");
    const requests = h.originRequests("/other-tag");
    expect(requests.map((r) => r.headers["if-none-match"])).toEqual([undefined, '"v1"', undefined]);
    expect((await h.get("/other-tag")).text).toBe("version 3");
  });

  it("RFC 9111 §4.3.3: a 200 to the conditional request replaces the stored response", async () => {
    h.route("/replace", (_req, res, n) => {
      res.writeHead(200, { etag: `"v${n}"`, "cache-control": "max-age=10" });
      res.end(`version ${n}`);
    });
    await h.get("/replace");
    h.clock.advance(10);
    const replaced = await h.get("/replace");
    expect(h.originRequests("/replace")[1].headers["if-none-match"]).toBe('"v1"');
    expect(replaced.text).toBe("version 2");
    const hit = await h.get("/replace");
    expect(hit.header("x-cache")).toBe("HIT");
    expect(hit.text).toBe("version 2");
    // The next revalidation uses the new validator.
    h.clock.advance(10);
    await h.get("/replace");
    expect(h.originRequests("/replace")[2].headers["if-none-match"]).toBe('"v2"');
  });

  it("RFC 9111 §4.3.1: without validators a stale response is simply fetched again", async () => {
    h.route("/no-validators", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=5" });
      res.end(`version ${n}`);
    });
    await h.get("/no-validators");
    h.clock.advance(5);
    const again = await h.get("/no-validators");
    expect(h.originRequests("/no-validators")[1].headers["if-none-match"]).toBeUndefined();
    expect(h.originRequests("/no-validators")[1].headers["if-modified-since"]).toBeUndefined();
    expect(again.text).toBe("version 2");
  });

  it("RFC 9111 §4.3.2: a client's own conditional request is forwarded and its 304 leaves the stored response alone", async () => {
    h.route("/client-conditional", (req, res, n) => {
      if (req.headers["if-none-match"] === '"c"') {
        res.writeHead(304, { etag: '"c"', "cache-control": "max-age=10" });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"c"', "cache-control": "max-age=10" });
      res.end(`body ${n}`);
    });
    await h.get("/client-conditional");
    h.clock.advance(10);
    const forwarded = await h.get("/client-conditional", { "if-none-match": '"c"' });
    expect(forwarded.status).toBe(304);
    // The stored response is still there to be revalidated by the cache itself.
    const revalidated = await h.get("/client-conditional");
    expect(revalidated.status).toBe(200);
    expect(revalidated.text).toBe("body 1");
    expect(revalidated.header("cache-status")).toContain("fwd-status=304");
  });

  it("RFC 9111 §4.3.3: a 5xx to a revalidation (no stale-if-error) is forwarded; the stored response survives", async () => {
    let down = false;
    h.route("/flaky", (_req, res, n) => {
      if (down) {
        res.writeHead(503);
        res.end("down");
        return;
      }
      res.writeHead(200, { etag: '"f"', "cache-control": "max-age=10" });
      res.end(`body ${n}`);
    });
    await h.get("/flaky");
    h.clock.advance(10);
    down = true;
    expect((await h.get("/flaky")).status).toBe(503);
    down = false;
    h.route("/flaky", (req, res) => {
      res.writeHead(req.headers["if-none-match"] ? 304 : 200, { etag: '"f"', "cache-control": "max-age=10" });
      res.end(req.headers["if-none-match"] ? undefined : "refetched in full");
    });
    const after = await h.get("/flaky");
    expect(after.text).toBe("body 1");
    expect(after.header("cache-status")).toContain("fwd-status=304");
  });
});
