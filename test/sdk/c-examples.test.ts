// examples/hello-c and examples/geo-routing-c, built with their own
// [scripts].build and served with their own fastly.toml.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { toolchain } from "../helpers/toolchains.ts";
import { buildExample, describeHelloExample, exampleManifest } from "./c-zig-sdk.ts";

describeHelloExample("c", toolchain("clang"), { query: "Ada%20L", shown: "Ada L" });

describe.skipIf(!toolchain("clang"))("examples/geo-routing-c", () => {
  let us: Origin;
  let eu: Origin;
  let server: TestServer;

  beforeAll(async () => {
    const wasm = await buildExample("examples/geo-routing-c", "c");
    const origin = (name: string) =>
      startOrigin((req, res) => {
        // Cacheable, one copy per region (see the example's README).
        res.setHeader("cache-control", "max-age=60");
        res.setHeader("vary", "x-client-region");
        res.end(`${name} origin: ${req.url} for ${req.headers["x-client-country"] ?? "?"}\n`);
      });
    [us, eu] = await Promise.all([origin("us"), origin("eu")]);
    const manifest = exampleManifest("examples/geo-routing-c", { us: us.url, eu: eu.url });
    server = await serve(wasm, { manifest, clientIpHeader: true });
  });

  afterAll(async () => {
    await server?.close();
    await us?.close();
    await eu?.close();
  });

  const from = (ip: string) => ({ headers: { "x-outpost-client-ip": ip } });

  it("sends clients in Europe to the eu origin and others to the us origin", async () => {
    const berlin = await server.get("/page", from("192.0.2.10"));
    expect(berlin.headers.get("x-routed-to")).toBe("eu");
    expect(await berlin.text()).toBe("eu origin: /page for DE\n");

    const newYork = await server.get("/page", from("192.0.2.20"));
    expect(newYork.headers.get("x-routed-to")).toBe("us");
    expect(await newYork.text()).toBe("us origin: /page for US\n");

    const lyon = await server.get("/other", from("2001:db8::30"));
    expect(await lyon.text()).toBe("eu origin: /other for FR\n");

    expect(eu.requests.map((r) => r.url)).toEqual(["/page", "/other"]);
    expect(us.requests.map((r) => r.url)).toEqual(["/page"]);
  });

  it("sends clients the geolocation data does not know to the us origin", async () => {
    const unknown = await server.get("/unknown", from("198.51.100.1"));
    expect(unknown.headers.get("x-routed-to")).toBe("us");
    expect(await unknown.text()).toBe("us origin: /unknown for ?\n");
  });

  it("keeps one cached copy per region", async () => {
    const before = eu.requests.length + us.requests.length;
    const again = await server.get("/page", from("192.0.2.10"));
    expect(again.headers.get("x-cache")).toBe("HIT");
    expect(await again.text()).toBe("eu origin: /page for DE\n");
    const otherRegion = await server.get("/page", from("192.0.2.20"));
    expect(await otherRegion.text()).toBe("us origin: /page for US\n");
    expect(eu.requests.length + us.requests.length).toBe(before);
  });
});
