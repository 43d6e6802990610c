// What origins get wrong: malformed or conflicting directives (RFC 9111
// §4.2.1, §1.2.2), oversized Surrogate-Key headers (the platform's limits),
// and bodies cut short. The cache must stay safe (never serve a partial or
// wrongly-fresh object) and keep serving.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventually, fixed, type Harness, startHarness } from "./harness.ts";

describe("conformance: bad input", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  /** Stores `path` from a fresh fetch and says whether it is served from the cache `seconds` later. */
  async function freshAfter(path: string, seconds: number): Promise<boolean> {
    await h.get(path);
    h.clock.advance(seconds);
    return (await h.get(path)).header("x-cache") === "HIT";
  }

  describe("malformed Cache-Control", () => {
    const garbage = [";;;;", "=====", '"', "max-age", "max-age=", ", , ,", "max-age 60", "\t", "x".repeat(4000), ",".repeat(4000), 'foo="unterminated, max-age=5'];
    for (const [i, value] of garbage.entries()) {
      it(`survives ${JSON.stringify(value.length > 40 ? `${value.slice(0, 10)}… (${value.length} bytes)` : value)}`, async () => {
        const path = `/garbage-${i}`;
        h.route(path, fixed({ "cache-control": value }));
        const first = await h.get(path);
        expect(first.status).toBe(200);
        expect(first.text).toBe("response 1");
        const second = await h.get(path);
        expect(second.status).toBe(200);
        expect(second.text).toMatch(/^response [12]$/);
      });
    }

    it("RFC 9111 §5.2: reads valid directives among garbage, in any case, quoted or not", async () => {
      h.route("/garbage-mixed", fixed({ "cache-control": ' ,, junk==x, "quoted, stuff", MAX-AGE="30" ,;;' }));
      expect(await freshAfter("/garbage-mixed", 29)).toBe(true);
      h.clock.advance(1);
      expect((await h.get("/garbage-mixed")).header("x-cache")).toBe("MISS");
    });

    for (const value of ["max-age=-1", "max-age=abc", "max-age=1.5", "max-age=+60", "max-age=0x10", "s-maxage=soon, max-age=600"]) {
      it(`RFC 9111 §4.2.1: invalid freshness (${value}) makes the response stale, not default-fresh`, async () => {
        const path = `/invalid-${value.replace(/\W+/g, "-")}`;
        h.route(path, fixed({ "cache-control": value, expires: h.clock.httpDate(600) }));
        expect(await freshAfter(path, 1)).toBe(false);
      });
    }

    it("RFC 9111 §1.2.2: a huge max-age is clamped to 2^31 seconds", async () => {
      h.route("/huge-max-age", fixed({ "cache-control": "max-age=99999999999999999999999999" }));
      await h.get("/huge-max-age");
      const hit = await h.get("/huge-max-age");
      expect(hit.header("cache-status")).toContain(`ttl=${2 ** 31}`);
      expect(await freshAfter("/huge-max-age", 10 * 365 * 86400)).toBe(true);
    });
  });

  describe("duplicated and conflicting directives", () => {
    it("RFC 9111 §4.2.1: of two max-age directives the first is used", async () => {
      h.route("/dup-max-age", fixed({ "cache-control": "max-age=60, max-age=5" }));
      expect(await freshAfter("/dup-max-age", 30)).toBe(true);
    });

    it("RFC 9111 §4.2.1: ...also across repeated header lines", async () => {
      h.route("/dup-lines", fixed({ "cache-control": ["max-age=5", "max-age=60"] }));
      expect(await freshAfter("/dup-lines", 30)).toBe(false);
    });

    it("RFC 9111 §4.2.1: conflicting directives: the most restrictive wins", async () => {
      for (const [path, value] of [
        ["/conflict-public-private", "public, max-age=600, private"],
        ["/conflict-store", "max-age=600, no-store"],
      ]) {
        h.route(path, fixed({ "cache-control": value }));
        await h.get(path);
        expect((await h.get(path)).header("x-cache"), value).not.toBe("HIT");
      }
    });

    it("RFC 9111 §5.3: several Expires values: the first is used", async () => {
      h.route("/dup-expires", fixed({ expires: [h.clock.httpDate(60), h.clock.httpDate(5)] }));
      expect(await freshAfter("/dup-expires", 30)).toBe(true);
    });
  });

  describe("huge Surrogate-Key headers (platform limits: 1 KiB a key, 16 KiB a header)", () => {
    it("ignores a key over 1 KiB and the keys after it in the same header; the response is still stored", async () => {
      h.route("/sk-long", fixed({ "cache-control": "max-age=600", "surrogate-key": `before ${"k".repeat(1025)} after` }));
      await h.get("/sk-long");
      await h.purgeKey("after");
      expect((await h.get("/sk-long")).header("x-cache")).toBe("HIT");
      await h.purgeKey("before");
      expect((await h.get("/sk-long")).header("x-cache")).toBe("MISS");
    });

    it("keeps only the keys entirely within the first 16 KiB of a larger header", async () => {
      const keys = Array.from({ length: 3000 }, (_, i) => `key${String(i).padStart(5, "0")}`); // 8 bytes + a space each
      const header = keys.join(" ");
      expect(header.length).toBeGreaterThan(24 * 1024);
      h.route("/sk-huge", fixed({ "cache-control": "max-age=600", "surrogate-key": header }));
      const first = await h.get("/sk-huge");
      expect(first.status).toBe(200);
      expect(first.text).toBe("response 1");
      const lastKept = Math.floor((16 * 1024 + 1) / 9) - 1;
      await h.purgeKey(keys[lastKept + 1]);
      expect((await h.get("/sk-huge")).header("x-cache")).toBe("HIT");
      await h.purgeKey(keys[lastKept]);
      expect((await h.get("/sk-huge")).header("x-cache")).toBe("MISS");
    });
  });

  describe("an origin that closes mid-body", () => {
    /** Sends half a body, then drops the connection. */
    const cut = (declareLength: boolean) => async (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
      res.writeHead(200, { "cache-control": "max-age=600", ...(declareLength ? { "content-length": "1000" } : {}) });
      res.write("the first part;");
      await new Promise((resolve) => setTimeout(resolve, 50));
      req.socket.destroy();
    };

    for (const declareLength of [true, false]) {
      it(`${declareLength ? "with Content-Length" : "chunked"}: the client sees a cut response, and the partial body is never served`, async () => {
        const path = `/cut-${declareLength ? "length" : "chunked"}`;
        h.route(path, cut(declareLength));
        const first = await h.get(path);
        expect(first.cut).toBeInstanceOf(Error);
        expect(first.text.length).toBeLessThan(1000);
        h.route(path, fixed({ "cache-control": "max-age=600" }, "the whole body"));
        const next = await h.get(path);
        expect(next.header("x-cache")).toBe("MISS");
        expect(next.cut).toBeNull();
        expect(next.text).toBe("the whole body");
      });
    }

    it("requests collapsed onto the cut fetch are cut too, and nothing partial stays stored", async () => {
      h.route("/cut-collapsed", cut(false));
      const answers = await Promise.all(Array.from({ length: 5 }, () => h.get("/cut-collapsed")));
      for (const answer of answers) expect(answer.cut).toBeInstanceOf(Error);
      h.route("/cut-collapsed", fixed({ "cache-control": "max-age=600" }, "complete"));
      await eventually(async () => (await h.get("/cut-collapsed")).text === "complete", "a complete object");
      expect((await h.get("/cut-collapsed")).header("x-cache")).toBe("HIT");
    });
  });
});
