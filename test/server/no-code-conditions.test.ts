// The no-code caching service answers a client's conditional and range
// requests from the cache (304, 412, 206, 416), asking the origin for whole
// responses only, as a CDN in front of a real loopback origin does.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import { type RunningOriginServer, startServer } from "../../runtime/server/start-server.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";

const ETAG = '"v1"';
const LAST_MODIFIED = "Tue, 10 Nov 2026 08:00:00 GMT";
const TEXT = "0123456789abcdef";
const BIG = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < BIG.length; i += 4) BIG.writeUInt32LE((i * 2654435761) >>> 0, i);
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("the no-code service and a client's own conditions", () => {
  let origin: Origin;
  let server: RunningOriginServer;
  const seen = (path: string) => origin.requests.filter((r) => r.url === path);

  beforeAll(async () => {
    origin = await startOrigin(async (req, res) => {
      const path = new URL(req.url!, "http://x").pathname;
      res.setHeader("cache-control", "max-age=600");
      if (path === "/missing") {
        res.statusCode = 404;
        res.setHeader("etag", ETAG);
        return void res.end("no");
      }
      res.setHeader("etag", ETAG);
      res.setHeader("last-modified", LAST_MODIFIED);
      res.setHeader("content-type", "application/octet-stream");
      if (path.startsWith("/big")) {
        // Large, streamed in pieces; with a declared length unless /big-chunked.
        if (!path.endsWith("-chunked")) res.setHeader("content-length", BIG.length);
        for (let i = 0; i < BIG.length; i += 256 * 1024) {
          if (!res.write(BIG.subarray(i, i + 256 * 1024))) await new Promise((resolve) => res.once("drain", resolve));
        }
        return void res.end();
      }
      res.end(TEXT);
    });
    server = await startServer({ origin: origin.url, port: 0, logger: new MemoryLogger() });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = "GET") => fetch(`${server.url}${path}`, { method, headers });

  it("answers a matching If-None-Match on a miss with 304, and stores the whole response it asked for", async () => {
    const first = await get("/etag", { "if-none-match": `"other", W/${ETAG}` });
    expect(first.status).toBe(304);
    expect(first.headers.get("etag")).toBe(ETAG);
    expect(first.headers.get("cache-control")).toBe("max-age=600");
    expect(first.headers.get("content-type")).toBeNull();
    expect(await first.text()).toBe("");
    // The origin was asked without the client's validator, so the cache could fill.
    expect(seen("/etag")).toHaveLength(1);
    expect(seen("/etag")[0].headers["if-none-match"]).toBeUndefined();
    const plain = await get("/etag");
    expect(plain.status).toBe(200);
    expect(plain.headers.get("x-cache")).toBe("HIT");
    expect(await plain.text()).toBe(TEXT);
    expect(seen("/etag")).toHaveLength(1);
  });

  it("answers validators on a hit: 304 when the client's copy is current, 200 when not", async () => {
    await (await get("/validators")).text();
    const current = await get("/validators", { "if-none-match": ETAG });
    expect([current.status, current.headers.get("x-cache")]).toEqual([304, "HIT"]);
    const changed = await get("/validators", { "if-none-match": '"v0"' });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe(TEXT);
    const star = await get("/validators", { "if-none-match": "*" }, "HEAD");
    expect(star.status).toBe(304);
    const since = await get("/validators", { "if-modified-since": LAST_MODIFIED });
    expect(since.status).toBe(304);
    const before = await get("/validators", { "if-modified-since": "Mon, 09 Nov 2026 08:00:00 GMT" });
    expect(before.status).toBe(200);
    expect(await before.text()).toBe(TEXT);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    const both = await get("/validators", { "if-none-match": '"v0"', "if-modified-since": LAST_MODIFIED });
    expect(both.status).toBe(200);
    await both.text();
    expect(seen("/validators")).toHaveLength(1);
  });

  it("answers a failed If-Match or If-Unmodified-Since with 412", async () => {
    expect((await get("/preconditions", { "if-match": '"v0"' })).status).toBe(412);
    expect((await get("/preconditions", { "if-match": `W/${ETAG}` })).status).toBe(412);
    const matching = await get("/preconditions", { "if-match": ETAG });
    expect(matching.status).toBe(200);
    expect(await matching.text()).toBe(TEXT);
    expect((await get("/preconditions", { "if-unmodified-since": "Mon, 09 Nov 2026 08:00:00 GMT" })).status).toBe(412);
    expect((await get("/preconditions", { "if-unmodified-since": LAST_MODIFIED })).status).toBe(200);
    expect(seen("/preconditions")).toHaveLength(1);
  });

  it("answers one byte range with 206, an unsatisfiable one with 416, and serves the whole for the rest", async () => {
    await (await get("/range")).text();
    const cases: [Record<string, string>, number, string | null, string][] = [
      [{ range: "bytes=2-5" }, 206, "bytes 2-5/16", "2345"],
      [{ range: "bytes=-3" }, 206, "bytes 13-15/16", "def"],
      [{ range: "bytes=10-" }, 206, "bytes 10-15/16", "abcdef"],
      [{ range: "bytes=14-99" }, 206, "bytes 14-15/16", "ef"],
      [{ range: "bytes=16-20" }, 416, "bytes */16", ""],
      // Several ranges, a unit it does not know, a stale or weak If-Range: the whole response.
      [{ range: "bytes=0-1,4-5" }, 200, null, TEXT],
      [{ range: "items=0-1" }, 200, null, TEXT],
      [{ range: "bytes=0-1", "if-range": '"v0"' }, 200, null, TEXT],
      [{ range: "bytes=0-1", "if-range": `W/${ETAG}` }, 200, null, TEXT],
      [{ range: "bytes=0-1", "if-range": ETAG }, 206, "bytes 0-1/16", "01"],
    ];
    for (const [headers, status, contentRange, body] of cases) {
      const response = await get("/range", headers);
      const text = await response.text();
      expect([response.status, response.headers.get("content-range"), text], JSON.stringify(headers)).toEqual([status, contentRange, body]);
      if (status !== 416) expect(response.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
    }
    // Range applies to GET only (RFC 9110 §14.2).
    const head = await get("/range", { range: "bytes=2-5" }, "HEAD");
    expect([head.status, head.headers.get("content-length")]).toEqual([200, "16"]);
    expect(seen("/range")).toHaveLength(1);
  });

  it("answers a range of a large body on a miss while it streams in, and the whole body is stored", async () => {
    const start = 1_000_000;
    const end = 2_500_000;
    const part = await get("/big", { range: `bytes=${start}-${end - 1}` });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes ${start}-${end - 1}/${BIG.length}`);
    expect(sha(new Uint8Array(await part.arrayBuffer()))).toBe(sha(BIG.subarray(start, end)));
    expect(seen("/big")[0].headers.range).toBeUndefined();
    const whole = await get("/big");
    expect(whole.headers.get("x-cache")).toBe("HIT");
    expect(sha(new Uint8Array(await whole.arrayBuffer()))).toBe(sha(BIG));
    expect(seen("/big")).toHaveLength(1);
  });

  it("serves a body of unknown length whole on a miss, and its ranges once it is stored", async () => {
    const miss = await get("/big-chunked", { range: "bytes=0-9" });
    expect(miss.status).toBe(200);
    expect(sha(new Uint8Array(await miss.arrayBuffer()))).toBe(sha(BIG));
    const hit = await get("/big-chunked", { range: "bytes=0-9" });
    expect([hit.status, hit.headers.get("x-cache")]).toEqual([206, "HIT"]);
    expect(Buffer.from(await hit.arrayBuffer())).toEqual(BIG.subarray(0, 10));
  });

  it("passes other statuses on as they are", async () => {
    const response = await get("/missing", { "if-none-match": ETAG, range: "bytes=0-0" });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("no");
  });
});
