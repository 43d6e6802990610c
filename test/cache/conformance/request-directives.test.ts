// Request directives (RFC 9111 §5.2.1). The platform's readthrough cache
// ignores the Cache-Control (and Pragma) of the request a guest sends: §5.2.1
// makes request directives advisory ("a cache MAY ... ignore"), and a CDN
// that let every client force origin fetches would hand out a way to bypass
// it. A guest that wants a fresh copy says so with a cache override (pass).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixed, type Harness, startHarness } from "./harness.ts";

describe("conformance: request directives", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  for (const [name, headers] of [
    ["Cache-Control: no-cache (§5.2.1.4)", { "cache-control": "no-cache" }],
    ["Cache-Control: max-age=0 (§5.2.1.1)", { "cache-control": "max-age=0" }],
    ["Cache-Control: no-store (§5.2.1.5)", { "cache-control": "no-store" }],
    ["Cache-Control: min-fresh=3600 (§5.2.1.3)", { "cache-control": "min-fresh=3600" }],
    ["Pragma: no-cache (§5.4)", { pragma: "no-cache" }],
  ] as const) {
    it(`a client's ${name} does not bypass the cache`, async () => {
      const path = `/req-${name.replace(/\W+/g, "-")}`;
      h.route(path, fixed({ "cache-control": "max-age=600" }));
      const first = await h.get(path, headers);
      expect(first.header("x-cache")).toBe("MISS");
      // The directive still reaches the origin on a miss: it is forwarded, just not acted on.
      expect(h.originRequests(path)[0].headers[Object.keys(headers)[0]]).toBe(Object.values(headers)[0]);
      const again = await h.get(path, headers);
      expect(again.header("x-cache")).toBe("HIT");
      expect(again.text).toBe(first.text);
      expect(h.originHits(path)).toBe(1);
    });
  }

  it("a client's max-stale does not make the cache serve a stale response (§5.2.1.2 is advisory too)", async () => {
    h.route("/req-max-stale", fixed({ "cache-control": "max-age=10" }));
    await h.get("/req-max-stale");
    h.clock.advance(11);
    expect((await h.get("/req-max-stale", { "cache-control": "max-stale=3600" })).header("x-cache")).toBe("MISS");
    expect(h.originHits("/req-max-stale")).toBe(2);
  });

  it("the guest's pass override does bypass it", async () => {
    h.route("/req-pass", fixed({ "cache-control": "max-age=600" }));
    await h.get("/req-pass");
    const passed = await h.get("/req-pass", { "x-override-tag": "1" });
    expect(passed.header("x-cache")).toBe("PASS");
    expect(passed.text).toBe("response 2");
    // And leaves the stored response alone.
    expect((await h.get("/req-pass")).text).toBe("response 1");
  });
});
