// The no-code caching service (`outpost serve --origin`): the readthrough
// cache in front of one real loopback origin, with no guest on the path.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import { type RunningOriginServer, startServer } from "../../runtime/server/start-server.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { rawRequest } from "../helpers/raw-client.ts";
import { createTestCa } from "../helpers/certs.ts";
import { startTlsOrigin } from "../helpers/socket-origins.ts";

const BIG = Buffer.alloc(5 * 1024 * 1024);
for (let i = 0; i < BIG.length; i += 4) BIG.writeUInt32LE((i * 2654435761) >>> 0, i);
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("the no-code caching service", () => {
  let origin: Origin;
  let server: RunningOriginServer;
  let logger: MemoryLogger;
  const hits = (path: string) => origin.requests.filter((r) => r.url === path).length;

  beforeAll(async () => {
    origin = await startOrigin(async (req, res, body) => {
      const url = new URL(req.url!, "http://x");
      const path = url.pathname.replace(/^\/prefix/, "");
      if (path === "/slow") await new Promise((resolve) => setTimeout(resolve, 300));
      if (path === "/big") {
        res.setHeader("cache-control", "max-age=600");
        // Streamed in pieces, with no Content-Length.
        for (let i = 0; i < BIG.length; i += 256 * 1024) {
          if (!res.write(BIG.subarray(i, i + 256 * 1024))) await new Promise((resolve) => res.once("drain", resolve));
        }
        return void res.end();
      }
      res.setHeader("cache-control", url.searchParams.get("cc") ?? "max-age=600");
      res.setHeader("surrogate-key", url.searchParams.get("sk") ?? "all");
      res.setHeader("content-type", "text/plain");
      res.end(`${req.method} ${url.pathname} #${origin.requests.length}${body.length ? ` body=${body}` : ""}`);
    });
    logger = new MemoryLogger();
    server = await startServer({ origin: `${origin.url}/prefix/`, port: 0, logger, admin: { host: "127.0.0.1", port: 0 } });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("misses, then hits with one origin request, and says so in X-Cache, Age and Cache-Status", async () => {
    const first = await fetch(`${server.url}/a?x=1`);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(first.headers.get("cache-status")).toBe("Outpost; fwd=uri-miss; stored");
    const text = await first.text();
    // The path prefix of --origin comes first; the client's path and query follow.
    expect(text).toMatch(/^GET \/prefix\/a #\d+$/);
    const second = await fetch(`${server.url}/a?x=1`);
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(second.headers.get("x-cache-hits")).toBe("1");
    expect(second.headers.get("age")).toMatch(/^\d+$/);
    expect(second.headers.get("cache-status")).toMatch(/^Outpost; hit; ttl=\d+$/);
    expect(second.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(await second.text()).toBe(text);
    expect(hits("/prefix/a?x=1")).toBe(1);
    // One log line per request, as `outpost serve` writes them.
    await expect.poll(() => logger.requests.filter((r) => r.path === "/a?x=1").length).toBe(2);
    expect(logger.requests.find((r) => r.path === "/a?x=1")).toMatchObject({ method: "GET", status: 200 });
  });

  it("sends the origin its own host, the client's fields less hop-by-hop ones, and X-Forwarded-*", async () => {
    await rawRequest(`${server.url}/fields`, { headers: { host: "shop.example", "x-custom": "kept", connection: "keep-alive, x-drop", "x-drop": "gone", "x-forwarded-for": "10.0.0.1" } });
    const seen = origin.requests.find((r) => r.url === "/prefix/fields")!;
    expect(seen.headers.host).toBe(new URL(origin.url).host);
    expect(seen.headers["x-custom"]).toBe("kept");
    expect(seen.headers["x-drop"]).toBeUndefined();
    expect(seen.headers["x-forwarded-host"]).toBe("shop.example");
    expect(seen.headers["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
  });

  it("keys the cache by the client's Host and path, so PURGE and /purge/<host>/<path> name what clients asked for", async () => {
    await rawRequest(`${server.url}/keyed`, { headers: { host: "one.example" } });
    const other = await rawRequest(`${server.url}/keyed`, { headers: { host: "two.example" } });
    expect(other.headers["x-cache"]).toBe("MISS");
    expect((await rawRequest(`${server.url}/keyed`, { headers: { host: "one.example" } })).headers["x-cache"]).toBe("HIT");
    const purged = await rawRequest(`${server.url}/keyed`, { method: "PURGE", headers: { host: "one.example" } });
    expect(JSON.parse(purged.body.toString())).toMatchObject({ status: "ok", purged: 1 });
    expect((await rawRequest(`${server.url}/keyed`, { headers: { host: "one.example" } })).headers["x-cache"]).toBe("MISS");
    const admin = await fetch(`${server.admin!.url}/purge/two.example/keyed`, { method: "POST" });
    expect(await admin.json()).toMatchObject({ purged: 1 });
    expect(origin.requests.some((r) => r.method === "PURGE")).toBe(false);
  });

  it("passes what Cache-Control: no-store forbids storing", async () => {
    const path = "/nostore?cc=no-store";
    const first = await fetch(server.url + path);
    expect(first.headers.get("x-cache")).toBe("MISS");
    await first.text();
    const second = await fetch(server.url + path);
    expect(second.headers.get("x-cache")).toBe("PASS");
    expect(await second.text()).toMatch(/#\d+$/);
    expect(hits(`/prefix${path}`)).toBe(2);
  });

  it("purges by surrogate key through the admin API; Surrogate-* and X-Cache-Debug reach only Fastly-Debug clients", async () => {
    const path = "/tagged?sk=red%20blue";
    const first = await fetch(server.url + path);
    expect(first.headers.get("surrogate-key")).toBeNull();
    expect(first.headers.get("x-cache-debug")).toBeNull();
    await first.text();
    const debug = await fetch(server.url + path, { headers: { "fastly-debug": "1" } });
    expect(debug.headers.get("x-cache")).toBe("HIT");
    expect(debug.headers.get("surrogate-key")).toBe("red blue");
    expect(debug.headers.get("x-cache-debug")).toMatch(/^ttl=\d+; swr=0; sie=0; age=\d+$/);
    await debug.text();
    const purge = await fetch(`${server.admin!.url}/service/any/purge/blue`, { method: "POST" });
    expect(await purge.json()).toMatchObject({ status: "ok", purged: 1 });
    const after = await fetch(server.url + path);
    expect(after.headers.get("x-cache")).toBe("MISS");
    await after.text();
    expect(hits(`/prefix${path}`)).toBe(2);
    const metrics = await (await fetch(`${server.admin!.url}/metrics`)).text();
    expect(metrics).toMatch(/^outpost_cache_hits_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^outpost_requests_total\{class="2xx"\} [1-9]\d*$/m);
  });

  it("forwards POST with its body, does not cache it, and invalidates the URL", async () => {
    await (await fetch(`${server.url}/form`)).text();
    expect((await fetch(`${server.url}/form`)).headers.get("x-cache")).toBe("HIT");
    for (const n of [1, 2]) {
      const response = await fetch(`${server.url}/form`, { method: "POST", body: `n=${n}` });
      expect(response.headers.get("x-cache")).toBe("PASS");
      expect(await response.text()).toMatch(new RegExp(`^POST /prefix/form #\\d+ body=n=${n}$`));
    }
    expect(origin.requests.filter((r) => r.method === "POST" && r.url === "/prefix/form").map((r) => r.body.toString())).toEqual(["n=1", "n=2"]);
    // RFC 9111 §4.4: the successful POST invalidated the stored GET.
    expect((await fetch(`${server.url}/form`)).headers.get("x-cache")).toBe("MISS");
  });

  it("answers HEAD with the headers and no body, from the cache too", async () => {
    const miss = await rawRequest(`${server.url}/head`, { method: "HEAD" });
    expect(miss.status).toBe(200);
    expect(miss.body.length).toBe(0);
    await rawRequest(`${server.url}/head`);
    const hit = await rawRequest(`${server.url}/head`, { method: "HEAD" });
    expect(hit.headers["x-cache"]).toBe("HIT");
    expect(hit.headers["content-length"]).toMatch(/^\d+$/);
    expect(hit.body.length).toBe(0);
    expect(hit.cut).toBeNull();
  });

  it("streams a large body intact on the miss, and serves it whole from the cache", async () => {
    const miss = await rawRequest(`${server.url}/big`);
    expect(miss.headers["x-cache"]).toBe("MISS");
    expect(miss.cut).toBeNull();
    expect(sha(miss.body)).toBe(sha(BIG));
    const hit = await rawRequest(`${server.url}/big`);
    expect(hit.headers["x-cache"]).toBe("HIT");
    expect(hit.headers["content-length"]).toBe(String(BIG.length));
    expect(sha(hit.body)).toBe(sha(BIG));
    expect(hits("/prefix/big")).toBe(1);
  });

  it("collapses 50 concurrent requests for a slow origin onto one origin request", async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => rawRequest(`${server.url}/slow?c=1`)));
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([200]));
    expect(new Set(responses.map((r) => r.body.toString())).size).toBe(1);
    expect(responses.filter((r) => /collapsed/.test(String(r.headers["cache-status"]))).length).toBe(49);
    expect(hits("/prefix/slow?c=1")).toBe(1);
  });
});

describe("the no-code caching service with a broken origin", () => {
  it("answers 502 with a clear text body and a log line, serves what it has, and keeps serving", async () => {
    const origin = await startOrigin((_req, res) => {
      res.setHeader("cache-control", "max-age=600");
      res.end("cached before the origin went away");
    });
    const logger = new MemoryLogger();
    const server = await startServer({ origin: origin.url, port: 0, logger });
    try {
      await (await fetch(`${server.url}/kept`)).text();
      await origin.close();
      for (let i = 0; i < 3; i++) {
        const down = await fetch(`${server.url}/other-${i}`);
        expect(down.status).toBe(502);
        expect(down.headers.get("content-type")).toMatch(/^text\/plain/);
        expect(await down.text()).toBe("502 Bad Gateway: the origin refused the connection\n");
        const kept = await fetch(`${server.url}/kept`);
        expect(kept.headers.get("x-cache")).toBe("HIT");
        expect(await kept.text()).toBe("cached before the origin went away");
      }
      expect(logger.lines.filter((line) => /^error: #\d+ GET \/other-0: origin request failed: .*ECONNREFUSED/.test(line))).toHaveLength(1);
      await expect.poll(() => logger.requests.find((r) => r.path === "/other-0")).toMatchObject({ status: 502, note: "the origin refused the connection" });
    } finally {
      await server.close();
    }
  });

  it("answers 502 when the origin cuts the connection, or has a certificate nobody trusts", async () => {
    const rude: TcpServer = createTcpServer((socket) => socket.once("data", () => socket.destroy()));
    await new Promise<void>((resolve) => rude.listen(0, "127.0.0.1", resolve));
    const ca = createTestCa();
    const tlsOrigin = await startTlsOrigin(ca.issue("origin", { ips: ["127.0.0.1"] }), (_req, res) => res.end("never"));
    const server = await startServer({ origin: `http://127.0.0.1:${(rude.address() as AddressInfo).port}`, port: 0, logger: new MemoryLogger() });
    const tls = await startServer({ origin: tlsOrigin.url, port: 0, logger: new MemoryLogger() });
    try {
      const cut = await fetch(`${server.url}/x`);
      expect(cut.status).toBe(502);
      expect(await cut.text()).toBe("502 Bad Gateway: the origin closed the connection before answering\n");
      const untrusted = await fetch(`${tls.url}/x`);
      expect(untrusted.status).toBe(502);
      expect(await untrusted.text()).toBe("502 Bad Gateway: the origin's TLS certificate was not accepted\n");
    } finally {
      await server.close();
      await tls.close();
      await tlsOrigin.close();
      ca.remove();
      await new Promise((resolve) => rude.close(resolve));
    }
  });
});

describe("the no-code caching service serving stale", () => {
  it("revalidates in the background within stale-while-revalidate, and serves stale-if-error", async () => {
    let now = Date.UTC(2030, 0, 1, 12, 0, 0);
    let up = true;
    const origin = await startOrigin((_req, res) => {
      if (!up) return void res.writeHead(503).end("down");
      res.setHeader("date", new Date(now).toUTCString());
      res.setHeader("cache-control", "max-age=10, stale-while-revalidate=30, stale-if-error=600");
      res.end(`version ${origin.requests.length}`);
    });
    const server = await startServer({ origin: origin.url, clock: () => now, port: 0, logger: new MemoryLogger() });
    try {
      expect(await (await fetch(`${server.url}/s`)).text()).toBe("version 1");
      now += 15_000;
      const stale = await fetch(`${server.url}/s`);
      expect(stale.headers.get("cache-status")).toMatch(/fwd=stale; detail=stale-while-revalidate/);
      expect(await stale.text()).toBe("version 1");
      await expect.poll(() => origin.requests.length).toBe(2);
      await expect.poll(async () => (await fetch(`${server.url}/s`)).text()).toBe("version 2");
      up = false;
      now += 60_000;
      const fallback = await fetch(`${server.url}/s`);
      expect(fallback.status).toBe(200);
      expect(fallback.headers.get("cache-status")).toMatch(/detail=stale-if-error/);
      expect(await fallback.text()).toBe("version 2");
    } finally {
      await server.close();
      await origin.close();
    }
  });
});

describe("the no-code caching service with an origin that fails midway", () => {
  it("cuts the client's response short, stores nothing, and keeps serving", async () => {
    const origin = await startOrigin((_req, res) => {
      res.writeHead(200, { "content-length": "1000", "cache-control": "max-age=600" });
      res.write("only the start");
      setTimeout(() => res.destroy(), 20);
    });
    const logger = new MemoryLogger();
    const server = await startServer({ origin: origin.url, port: 0, logger });
    try {
      for (let i = 0; i < 2; i++) {
        const response = await rawRequest(`${server.url}/cut`);
        expect(response.status).toBe(200);
        expect(response.body.toString()).toBe("only the start");
        expect(response.cut).not.toBeNull();
      }
      expect(origin.requests).toHaveLength(2);
      await expect.poll(() => logger.lines.some((line) => /^warning: #1 GET \/cut: the origin's body failed/.test(line))).toBe(true);
    } finally {
      await server.close();
      await origin.close();
    }
  });
});

describe("--override-host, --quiet, --cache-dir and --origin checks", () => {
  it("keeps the cache on disk with --cache-dir: a restarted service answers from it", async () => {
    const origin = await startOrigin((_req, res) => {
      res.setHeader("cache-control", "max-age=600");
      res.end("kept on disk");
    });
    const cacheDir = mkdtempSync(join(tmpdir(), "outpost-no-code-"));
    try {
      const first = await startServer({ origin: origin.url, cacheDir, port: 0, logger: new MemoryLogger() });
      // The same Host both times: the cache key is the client's Host and path, whatever port serves it.
      expect((await rawRequest(`${first.url}/disk`, { headers: { host: "site.example" } })).body.toString()).toBe("kept on disk");
      await first.close();
      await origin.close();
      const second = await startServer({ origin: origin.url, cacheDir, port: 0, logger: new MemoryLogger() });
      try {
        const response = await rawRequest(`${second.url}/disk`, { headers: { host: "site.example" } });
        expect(response.headers["x-cache"]).toBe("HIT");
        expect(response.body.toString()).toBe("kept on disk");
      } finally {
        await second.close();
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("logs no request lines when quiet, and still counts responses for /metrics", async () => {
    const origin = await startOrigin((_req, res) => void res.end("x"));
    const logger = new MemoryLogger();
    const server = await startServer({ origin: origin.url, quiet: true, port: 0, logger, admin: { host: "127.0.0.1", port: 0 } });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${server.url}/q`);
        expect(response.headers.get("x-cache")).toBe(i === 0 ? "MISS" : "HIT");
        await response.text();
      }
      const metrics = async () => (await fetch(`${server.admin!.url}/metrics`)).text();
      await expect.poll(async () => (await metrics()).match(/^outpost_requests_total\{class="2xx"\} (\d+)$/m)?.[1]).toBe("3");
      expect(await metrics()).toMatch(/^outpost_cache_hits_total 2$/m);
      expect(logger.requests).toEqual([]);
    } finally {
      await server.close();
      await origin.close();
    }
  });

  it("sends the Host --override-host names", async () => {
    const origin = await startOrigin((req, res) => void res.end(req.headers.host));
    const server = await startServer({ origin: origin.url, overrideHost: "app.internal", port: 0, logger: new MemoryLogger() });
    try {
      expect(await (await fetch(`${server.url}/`)).text()).toBe("app.internal");
    } finally {
      await server.close();
      await origin.close();
    }
  });

  it.each([
    ["not-a-url", /"not-a-url" is not a URL \(did you mean "http:\/\/not-a-url"\?\)/],
    ["ftp://example.com", /the scheme must be http or https, got "ftp"/],
    ["http://example.com/?q=1", /a path prefix but no query/],
    ["http://user:pw@example.com", /credentials/],
  ])("refuses --origin %s", async (url, message) => {
    await expect(startServer({ origin: url, port: 0, logger: new MemoryLogger() })).rejects.toThrow(message);
  });
});
