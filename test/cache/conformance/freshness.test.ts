// Freshness (RFC 9111 §4.2): how long a stored response is used without
// asking the origin, in the platform's order of sources, measured with the
// cache's clock moved by hand.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixed, type Harness, startHarness } from "./harness.ts";

describe("conformance: freshness", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  /**
   * Asserts that a response stored now is served from the cache until just
   * before `seconds` have passed and refetched at exactly `seconds`.
   */
  async function expectLifetime(path: string, seconds: number): Promise<void> {
    const before = h.originHits(path);
    expect((await h.get(path)).header("x-cache")).toBe("MISS");
    h.clock.advance(seconds - 0.001);
    const last = await h.get(path);
    expect(last.header("x-cache"), `still fresh just before ${seconds} s`).toBe("HIT");
    h.clock.advance(0.001);
    expect((await h.get(path)).header("x-cache"), `stale at ${seconds} s`).toBe("MISS");
    expect(h.originHits(path) - before).toBe(2);
  }

  const chain: [string, Record<string, string>, number][] = [
    ["Surrogate-Control max-age first", { "surrogate-control": "max-age=10", "cdn-cache-control": "max-age=20", "cache-control": "s-maxage=30, max-age=40" }, 10],
    ["then CDN-Cache-Control (RFC 9213 §2.1)", { "cdn-cache-control": "max-age=20", "cache-control": "s-maxage=30, max-age=40" }, 20],
    ["then s-maxage (RFC 9111 §5.2.2.10)", { "cache-control": "s-maxage=30, max-age=40" }, 30],
    ["then max-age (RFC 9111 §5.2.2.1)", { "cache-control": "max-age=40" }, 40],
    ["then Expires minus Date (RFC 9111 §5.3)", {}, 50],
    ["else the platform's default of 3600 s (in place of §4.2.2 heuristics)", {}, 3600],
  ];
  for (const [i, [name, headers, lifetime]] of chain.entries()) {
    it(`RFC 9111 §4.2.1 lifetime order: ${name}`, async () => {
      const path = `/order-${i}`;
      h.route(path, (_req, res, n) => {
        // Expires is set on every step but the last two, and is always beaten by what comes before it.
        const expires = lifetime === 3600 ? {} : { expires: h.clock.httpDate(50) };
        res.writeHead(200, { ...headers, ...expires });
        res.end(`v${n}`);
      });
      await expectLifetime(path, lifetime);
    });
  }

  it("RFC 9111 §5.3: an Expires in the past or not a date means already stale", async () => {
    for (const [path, expires] of [["/expires-past", h.clock.httpDate(-10)], ["/expires-bad", "0"]]) {
      h.route(path, fixed({ expires }));
      await h.get(path);
      expect((await h.get(path)).header("x-cache")).toBe("MISS");
      expect(h.originHits(path)).toBe(2);
    }
  });

  it("RFC 9111 §5.3: max-age wins over Expires even when Expires is longer", async () => {
    h.route("/max-age-vs-expires", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=5", expires: h.clock.httpDate(500) });
      res.end(`v${n}`);
    });
    await expectLifetime("/max-age-vs-expires", 5);
  });

  it("RFC 9111 §4.2.3: an Age from the origin counts against the lifetime", async () => {
    h.route("/aged", fixed({ "cache-control": "max-age=100", age: "30" }));
    const miss = await h.get("/aged");
    // RFC 9111 §5.1: the Age sent on is the cache's estimate, which starts at the origin's.
    expect(miss.header("age")).toBe("30");
    h.clock.advance(10);
    expect((await h.get("/aged")).header("age")).toBe("40");
    h.clock.advance(70 - 10 - 0.001);
    expect((await h.get("/aged")).header("x-cache")).toBe("HIT");
    h.clock.advance(0.001);
    expect((await h.get("/aged")).header("x-cache")).toBe("MISS");
  });

  it("RFC 9111 §4.2.3: a Date in the past makes the response older (apparent_age)", async () => {
    h.route("/dated", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=100", date: h.clock.httpDate(-20) });
      res.end(`v${n}`);
    });
    const miss = await h.get("/dated");
    expect(miss.header("age")).toBe("20");
    h.clock.advance(80 - 0.001);
    expect((await h.get("/dated")).header("x-cache")).toBe("HIT");
    h.clock.advance(0.001);
    expect((await h.get("/dated")).header("x-cache")).toBe("MISS");
  });

  it("RFC 9111 §4.2.3: a Date in the future does not make the response younger", async () => {
    h.route("/future-date", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=10", date: h.clock.httpDate(3600) });
      res.end(`v${n}`);
    });
    await expectLifetime("/future-date", 10);
  });

  it("RFC 9111 §5.1: Age on hits grows with the cache's clock, in whole seconds", async () => {
    h.route("/age-grows", fixed({ "cache-control": "max-age=600" }));
    const miss = await h.get("/age-grows");
    expect(miss.header("age")).toBe("0");
    const ages: string[] = [];
    for (const step of [1, 0.5, 0.4, 2, 100]) {
      h.clock.advance(step);
      const hit = await h.get("/age-grows");
      expect(hit.header("x-cache")).toBe("HIT");
      ages.push(hit.header("age")!);
    }
    expect(ages).toEqual(["1", "1", "1", "3", "103"]);
    expect(h.originHits("/age-grows")).toBe(1);
  });

  it("RFC 9111 §4.2: a response is stale at exactly its lifetime, not a millisecond later", async () => {
    h.route("/exact", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=7" });
      res.end(`v${n}`);
    });
    await expectLifetime("/exact", 7);
  });

  it("RFC 9111 §5.2.2.1: max-age=0 is stored but never fresh", async () => {
    h.route("/zero", fixed({ "cache-control": "max-age=0" }));
    await h.get("/zero");
    expect((await h.get("/zero")).header("x-cache")).toBe("MISS");
    expect(h.originHits("/zero")).toBe(2);
  });

  it("the guest's TTL override replaces the response's lifetime (cache_override_v2_set)", async () => {
    h.route("/override-ttl", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=5", age: "3" });
      res.end(`v${n}`);
    });
    const override = { "x-override-tag": "2", "x-override-ttl": "30" };
    await h.get("/override-ttl", override);
    h.clock.advance(30 - 0.001);
    expect((await h.get("/override-ttl", override)).header("x-cache")).toBe("HIT");
    h.clock.advance(0.001);
    expect((await h.get("/override-ttl", override)).header("x-cache")).toBe("MISS");
  });

  it("RFC 9110 §9.3.2: a fresh stored GET answers HEAD, without a body", async () => {
    h.route("/head", fixed({ "cache-control": "max-age=60", "content-type": "text/plain" }, "twelve bytes"));
    await h.get("/head");
    const head = await h.request("HEAD", "/head");
    expect(head.status).toBe(200);
    expect(head.header("x-cache")).toBe("HIT");
    expect(head.header("content-type")).toBe("text/plain");
    expect(head.body.length).toBe(0);
    expect(h.originHits("/head")).toBe(1);
  });

  it("Cache-Status says how long the object has left (RFC 9211 §2.5 ttl)", async () => {
    h.route("/status-ttl", fixed({ "cache-control": "max-age=90" }));
    await h.get("/status-ttl");
    h.clock.advance(30);
    expect((await h.get("/status-ttl")).header("cache-status")).toMatch(/^Outpost; hit; ttl=60(;|$)/);
  });
});
