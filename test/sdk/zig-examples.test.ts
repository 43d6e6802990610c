// examples/hello-zig and examples/caching-proxy-zig, built with their own
// [scripts].build and served with their own fastly.toml.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { toolchain } from "../helpers/toolchains.ts";
import { buildExample, describeHelloExample, exampleManifest } from "./c-zig-sdk.ts";

describeHelloExample("zig", toolchain("zig"), { query: "Grace+H", shown: "Grace H" });

describe.skipIf(!toolchain("zig"))("examples/caching-proxy-zig", () => {
  let origin: Origin;
  let server: TestServer;

  beforeAll(async () => {
    const wasm = await buildExample("examples/caching-proxy-zig", "zig");
    // An origin that says nothing about caching: the host's default TTL applies.
    origin = await startOrigin((req, res, body) => {
      res.setHeader("content-type", "text/plain");
      res.end(`origin answer ${origin.requests.length} to ${req.method} ${req.url} ${body.toString()}`);
    });
    server = await serve(wasm, { manifest: exampleManifest("examples/caching-proxy-zig", { origin: origin.url }) });
  });

  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  it("answers a repeated request from the cache without reaching the origin", async () => {
    const first = await server.get("/article/1?lang=en");
    expect(first.status).toBe(200);
    expect(first.headers.get("x-served-by")).toBe("caching-proxy-zig");
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(await first.text()).toBe("origin answer 1 to GET /article/1?lang=en ");

    const second = await server.get("/article/1?lang=en");
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(await second.text()).toBe("origin answer 1 to GET /article/1?lang=en ");
    expect(origin.requests.map((r) => r.url)).toEqual(["/article/1?lang=en"]);
  });

  it("passes /api/ requests and other methods through to the origin every time", async () => {
    const before = origin.requests.length;
    for (let i = 0; i < 2; i++) {
      const api = await server.get("/api/items");
      expect(api.headers.get("x-cache")).toBe("PASS");
    }
    const post = await server.get("/form", { method: "POST", body: "a=1" });
    expect(await post.text()).toBe(`origin answer ${before + 3} to POST /form a=1`);
    expect(origin.requests.length).toBe(before + 3);
  });
});
