// Invalidation (RFC 9111 §4.4): a non-error response to an unsafe method
// makes the cache drop what it holds for the target URI, and for the
// Location and Content-Location URIs when they are on the same host.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixed, type Harness, startHarness } from "./harness.ts";

describe("conformance: invalidation", () => {
  let h: Harness;
  let host: string;
  beforeAll(async () => {
    h = await startHarness();
    host = new URL(h.server.url).host;
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.nextSecond());

  /** Stores `path` and checks it is a hit. */
  async function cached(path: string): Promise<void> {
    h.route(path, fixed({ "cache-control": "max-age=600" }));
    await h.get(path);
    expect((await h.get(path)).header("x-cache")).toBe("HIT");
  }

  for (const [method, status] of [
    ["POST", 201],
    ["PUT", 204],
    ["DELETE", 200],
    ["PATCH", 200],
    ["POST", 303],
  ] as const) {
    it(`RFC 9111 §4.4: ${method} answered ${status} invalidates the stored GET of the same URI`, async () => {
      const path = `/inv-${method.toLowerCase()}-${status}`;
      await cached(path);
      h.route(path, (req, res, n, body) => {
        if (req.method === "GET") return fixed({ "cache-control": "max-age=600" })(req, res, n, body);
        res.writeHead(status, status === 303 ? { location: "/elsewhere" } : {});
        res.end(status === 204 ? undefined : `${req.method} got ${body.length} bytes`);
      });
      const unsafe = await h.request(method, path, { "content-type": "text/plain" }, "payload");
      expect(unsafe.status).toBe(status);
      // Unsafe methods are never answered from the cache.
      expect(unsafe.header("x-cache")).toBe("PASS");
      expect(h.originRequests(path).at(-1)!.body.toString()).toBe("payload");
      const after = await h.get(path);
      expect(after.header("x-cache")).toBe("MISS");
      expect(h.originRequests(path).filter((r) => r.method === "GET")).toHaveLength(2);
    });
  }

  it("RFC 9111 §4.4: Location and Content-Location on the same host are invalidated too", async () => {
    await cached("/inv-created");
    await cached("/inv-content");
    await cached("/inv-absolute");
    h.route("/inv-form", (_req, res) => {
      res.writeHead(201, { location: "/inv-created", "content-location": `http://${host}/inv-content` });
      res.end();
    });
    expect((await h.request("POST", "/inv-form", {}, "x")).status).toBe(201);
    expect((await h.get("/inv-created")).header("x-cache")).toBe("MISS");
    expect((await h.get("/inv-content")).header("x-cache")).toBe("MISS");
    // Untouched: not named by the response.
    expect((await h.get("/inv-absolute")).header("x-cache")).toBe("HIT");
  });

  it("RFC 9111 §4.4: a Location on another host is not invalidated (no cross-origin invalidation)", async () => {
    await cached("/inv-foreign");
    h.route("/inv-foreign-form", (_req, res) => {
      res.writeHead(201, { location: "http://other.example/inv-foreign", "content-location": "//evil.example/inv-foreign" });
      res.end();
    });
    await h.request("POST", "/inv-foreign-form", {}, "x");
    expect((await h.get("/inv-foreign")).header("x-cache")).toBe("HIT");
  });

  for (const status of [400, 404, 409, 500, 503]) {
    it(`RFC 9111 §4.4: an error response (${status}) to an unsafe method invalidates nothing`, async () => {
      const path = `/inv-error-${status}`;
      await cached(path);
      h.route(path, (req, res, n, body) => {
        if (req.method === "GET") return fixed({ "cache-control": "max-age=600" })(req, res, n, body);
        res.writeHead(status, { location: path });
        res.end("no");
      });
      expect((await h.request("POST", path, {}, "x")).status).toBe(status);
      expect((await h.get(path)).header("x-cache")).toBe("HIT");
    });
  }

  it("RFC 9111 §4.4: safe methods (OPTIONS) invalidate nothing", async () => {
    await cached("/inv-options");
    h.route("/inv-options", (req, res, n, body) => {
      if (req.method === "GET") return fixed({ "cache-control": "max-age=600" })(req, res, n, body);
      res.writeHead(204, { allow: "GET, POST" });
      res.end();
    });
    expect((await h.request("OPTIONS", "/inv-options")).status).toBe(204);
    expect((await h.get("/inv-options")).header("x-cache")).toBe("HIT");
  });

  it("RFC 9111 §4.4: every variant of the URI goes (Vary)", async () => {
    h.route("/inv-variants", (req, res, n) => {
      if (req.method !== "GET") {
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=600", vary: "accept-language" });
      res.end(`${req.headers["accept-language"]} ${n}`);
    });
    for (const lang of ["en", "fr"]) await h.get("/inv-variants", { "accept-language": lang });
    for (const lang of ["en", "fr"]) expect((await h.get("/inv-variants", { "accept-language": lang })).header("x-cache")).toBe("HIT");
    await h.request("DELETE", "/inv-variants");
    for (const lang of ["en", "fr"]) expect((await h.get("/inv-variants", { "accept-language": lang })).header("x-cache")).toBe("MISS");
  });
});
