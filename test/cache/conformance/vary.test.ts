// Vary (RFC 9111 §4.1): a stored response is used only for requests whose
// varying header fields match those of the request that fetched it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness.ts";

describe("conformance: Vary", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  /** An origin answer that varies on `vary` and says which request values it was made for. */
  function varying(path: string, vary: string, names: string[]): void {
    h.route(path, (req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=600", vary });
      res.end(`${names.map((name) => req.headers[name] ?? "-").join("|")} #${n}`);
    });
  }

  it("RFC 9111 §4.1: Accept-Encoding variants are stored and served apart", async () => {
    varying("/v-encoding", "Accept-Encoding", ["accept-encoding"]);
    const gzip = await h.get("/v-encoding", { "accept-encoding": "gzip" });
    const identity = await h.get("/v-encoding", { "accept-encoding": "identity" });
    expect(gzip.text).toBe("gzip #1");
    expect(identity.text).toBe("identity #2");
    for (const [encoding, body] of [["gzip", "gzip #1"], ["identity", "identity #2"]]) {
      const hit = await h.get("/v-encoding", { "accept-encoding": encoding });
      expect(hit.header("x-cache")).toBe("HIT");
      expect(hit.text).toBe(body);
    }
    expect(h.originHits("/v-encoding")).toBe(2);
  });

  it("RFC 9111 §4.1: Accept-Language variants, and a request without the field is a variant of its own", async () => {
    varying("/v-language", "accept-language", ["accept-language"]);
    for (const lang of ["en", "fr", undefined]) await h.get("/v-language", lang ? { "accept-language": lang } : {});
    expect((await h.get("/v-language", { "accept-language": "fr" })).text).toBe("fr #2");
    expect((await h.get("/v-language", { "accept-language": "en" })).text).toBe("en #1");
    expect((await h.get("/v-language")).text).toBe("- #3");
    expect(h.originHits("/v-language")).toBe(3);
  });

  it("RFC 9111 §4.1: several varying fields must all match; names are case-insensitive", async () => {
    varying("/v-multi", "ACCEPT-LANGUAGE, Accept-Encoding", ["accept-language", "accept-encoding"]);
    await h.get("/v-multi", { "accept-language": "en", "accept-encoding": "gzip" });
    expect((await h.get("/v-multi", { "accept-language": "en", "accept-encoding": "gzip" })).header("x-cache")).toBe("HIT");
    expect((await h.get("/v-multi", { "accept-language": "en", "accept-encoding": "br" })).header("x-cache")).toBe("MISS");
    expect((await h.get("/v-multi", { "accept-language": "de", "accept-encoding": "gzip" })).header("x-cache")).toBe("MISS");
    // Fields the response does not vary on do not matter.
    expect((await h.get("/v-multi", { "accept-language": "en", "accept-encoding": "gzip", "user-agent": "other" })).header("x-cache")).toBe("HIT");
  });

  it("RFC 9111 §4.1: whitespace around a field value is normalised away", async () => {
    varying("/v-space", "accept-language", ["accept-language"]);
    await h.get("/v-space", { "accept-language": "en" });
    expect((await h.get("/v-space", { "accept-language": "en  " })).header("x-cache")).toBe("HIT");
  });

  it("RFC 9111 §4.1: Vary: * is never served from the cache", async () => {
    h.route("/v-star", (_req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=600", vary: "accept-language, *" });
      res.end(`#${n}`);
    });
    for (let i = 0; i < 3; i++) expect((await h.get("/v-star")).text).toBe(`#${i + 1}`);
    expect(h.originHits("/v-star")).toBe(3);
  });

  it("RFC 9111 §4.1: when the origin changes what it varies on, the newest Vary decides", async () => {
    let vary = "accept-language";
    h.route("/v-change", (req, res, n) => {
      res.writeHead(200, { "cache-control": "max-age=10", vary });
      res.end(`${req.headers["accept-language"] ?? "-"}/${req.headers["accept-encoding"] ?? "-"} #${n}`);
    });
    await h.get("/v-change", { "accept-language": "en", "accept-encoding": "gzip" });
    await h.get("/v-change", { "accept-language": "fr", "accept-encoding": "gzip" });
    expect(h.originHits("/v-change")).toBe(2);
    h.clock.advance(10);
    vary = "accept-encoding";
    const refetched = await h.get("/v-change", { "accept-language": "en", "accept-encoding": "gzip" });
    expect(refetched.text).toBe("en/gzip #3");
    // Now only Accept-Encoding matters: French readers share the English-fetched gzip variant...
    const shared = await h.get("/v-change", { "accept-language": "fr", "accept-encoding": "gzip" });
    expect(shared.header("x-cache")).toBe("HIT");
    expect(shared.text).toBe("en/gzip #3");
    // ...and a different encoding is a different variant.
    expect((await h.get("/v-change", { "accept-language": "en", "accept-encoding": "br" })).text).toBe("en/br #4");
    expect(h.originHits("/v-change")).toBe(4);
  });

  it("collapsed requests for two variants reach the origin once per variant", async () => {
    h.route("/v-collapse", async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res.writeHead(200, { "cache-control": "max-age=600", vary: "accept-language" });
      res.end(`for ${req.headers["accept-language"]}`);
    });
    const langs = ["en", "fr", "en", "fr", "en", "fr", "en", "fr"];
    const answers = await Promise.all(langs.map((lang) => h.get("/v-collapse", { "accept-language": lang })));
    expect(answers.map((a) => a.text)).toEqual(langs.map((lang) => `for ${lang}`));
    expect(h.originHits("/v-collapse")).toBe(2);
  });
});
