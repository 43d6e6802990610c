// The cache at scale: a purge by surrogate key costs the same among 100,000
// objects as among 1,000 (the reverse index, no scan), and a small memory
// budget holds while large objects stream through, every client still
// getting its whole body.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrowingBody } from "../../runtime/cache/growing-body.ts";
import { Readthrough } from "../../runtime/cache/readthrough.ts";
import { type CacheObject, CacheStore } from "../../runtime/cache/store.ts";
import { Headers } from "../../runtime/session/headers.ts";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { watFixture } from "../helpers/wat.ts";

const MiB = 1024 * 1024;

/** A stored response for /item/i, tagged with its own key and its group's. */
function item(i: number, groups: number, now: number): CacheObject {
  const body = GrowingBody.of([new TextEncoder().encode(`item ${i}`)]);
  return {
    primary: `http:site.test/item/${i}`,
    varyRule: [],
    secondary: "",
    status: 200,
    headers: Headers.fromFlat(["content-type", "text/plain", "cache-control", "max-age=3600"]),
    body,
    userMetadata: new Uint8Array(0),
    surrogateKeys: [`item-${i}`, `group-${i % groups}`],
    freshness: { initialAge: 0, lifetime: 3600, staleWhileRevalidate: 60, staleIfError: 0, noCache: false, mustRevalidate: false },
    responseTime: now,
    lifetimes: { staleAt: now + 3_600_000, staleWhileRevalidateUntil: now + 3_660_000, staleIfErrorUntil: now + 3_600_000 },
    deleteAt: now + 3_660_000,
    hits: 0,
    declaredLength: body.length,
    sensitive: false,
  };
}

/** A cache of `count` objects in groups of 10, and the median time of purging one group. */
function medianPurgeMs(count: number): number {
  const now = Date.now();
  const groups = count / 10;
  const cache = new Readthrough({ store: new CacheStore({ maxBytes: 2 ** 40, now: () => now }), now: () => now });
  for (let i = 0; i < count; i++) cache.store.insert(item(i, groups, now));
  expect(cache.store.stats().objects).toBe(count);
  const times: number[] = [];
  for (let g = 0; g < 100; g++) {
    const soft = g % 2 === 1;
    const started = performance.now();
    const purged = cache.purgeSurrogateKeys([`group-${g}`], soft);
    times.push(performance.now() - started);
    expect(purged).toBe(10);
  }
  // Hard purges removed their groups; soft ones left theirs, stale.
  expect(cache.store.stats().objects).toBe(count - 50 * 10);
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

describe("purging by surrogate key at scale", () => {
  it("takes about as long among 100,000 objects as among 1,000", () => {
    medianPurgeMs(1_000); // warm up
    const small = medianPurgeMs(1_000);
    const large = medianPurgeMs(100_000);
    // A scan would be ~100 times slower; the index keeps it within the same order of magnitude.
    expect(large).toBeLessThan(Math.max(small * 10, 0.5));
  }, 60_000);
});

describe("memory budget", () => {
  const BUDGET = 8 * MiB;
  let origin: Origin;
  let server: TestServer;
  beforeAll(async () => {
    origin = await startOrigin(async (req, res) => {
      const n = Number(/\/big\/(\d+)/.exec(req.url!)?.[1]);
      const size = (1 + (n % 4)) * MiB;
      res.writeHead(200, { "content-length": size, "cache-control": "max-age=600" });
      // Streamed in pieces, so that objects grow (and others are evicted) while being read.
      const piece = Buffer.alloc(256 * 1024, n & 0xff);
      for (let sent = 0; sent < size; sent += piece.length) {
        if (!res.write(piece)) await new Promise((resolve) => res.once("drain", resolve));
      }
      res.end();
    });
    server = await serve(watFixture("cache-proxy"), { backends: { origin: origin.url }, cacheBytes: BUDGET });
  });
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("never holds more than the budget, evicts to make room, and gives every client its whole body", async () => {
    let peak = 0;
    const sample = () => (peak = Math.max(peak, server.cache.store.stats().bytes));
    const sampler = setInterval(sample, 2);
    const expected = (n: number) => createHash("sha256").update(Buffer.alloc((1 + (n % 4)) * MiB, n & 0xff)).digest("hex");
    const fetchOne = async (n: number) => {
      const response = await server.get(`/big/${n}`);
      expect(response.status).toBe(200);
      const body = Buffer.from(await response.arrayBuffer());
      sample();
      expect(body.length).toBe((1 + (n % 4)) * MiB);
      expect(createHash("sha256").update(body).digest("hex")).toBe(expected(n));
      return response.headers.get("x-cache");
    };
    try {
      // 24 objects (60 MiB) in waves of 6 concurrent clients, each wave asking twice for some.
      for (let wave = 0; wave < 4; wave++) {
        const ns = Array.from({ length: 6 }, (_, i) => wave * 6 + i);
        await Promise.all([...ns, ns[0], ns[1]].map(fetchOne));
      }
      // What was just fetched is kept.
      await fetchOne(0);
      expect(await fetchOne(0)).toBe("HIT");
    } finally {
      clearInterval(sampler);
    }
    const stats = server.cache.store.stats();
    expect(peak).toBeGreaterThan(BUDGET / 4);
    expect(peak).toBeLessThanOrEqual(BUDGET);
    expect(stats.bytes).toBeLessThanOrEqual(BUDGET);
    expect(stats.evictions).toBeGreaterThan(0);
    const metrics = server.cache.metrics.prometheus(stats);
    expect(Number(/^outpost_cache_evictions_total (\d+)$/m.exec(metrics)?.[1])).toBe(stats.evictions);
  }, 60_000);
});
