// One suite, two SDKs: test/fixtures/c/sdk-helpers.c (sdk/c) and
// test/fixtures/zig/sdk-helpers.zig (sdk/zig) are the same app, built with
// the real toolchains and run under a real server against a real origin.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { toolchain } from "../helpers/toolchains.ts";
import { buildC, buildZig } from "./c-zig-sdk.ts";

const SDKS = [
  {
    name: "c",
    present: () => toolchain("clang"),
    build: () => buildC("test/fixtures/c/sdk-helpers.c"),
  },
  {
    name: "zig",
    present: () => toolchain("zig"),
    build: () => buildZig("test/fixtures/zig/sdk-helpers.zig"),
  },
];

const LONG_CONFIG = "v".repeat(3000);

function manifest(origin: string): string {
  return `
[local_server.backends.origin]
url = "${origin}"

[local_server.config_stores.settings]
format = "inline-toml"
[local_server.config_stores.settings.contents]
greeting = "hello"
long = "${LONG_CONFIG}"

[local_server.kv_stores]
data = [
  { key = "seeded", data = "from the manifest" },
  { key = "with-metadata", data = "value beside long metadata", metadata = "${"m".repeat(300)}" },
]

[local_server.geolocation]
format = "inline-toml"
[local_server.geolocation.addresses."203.0.113.7"]
city = 'Zürich "Z"'
country_code = "CH"
continent = "EU"
latitude = 47.37
[local_server.geolocation.addresses."2001:db8::7"]
country_code = "CA"
`;
}

/** A request with repeated header lines (fetch would fold them into one); `headers` is flat: name, value, ... */
function rawGet(url: string, headers: string[]): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

for (const sdk of SDKS) {
  describe.skipIf(!sdk.present())(`the ${sdk.name} SDK`, () => {
    let origin: Origin;
    let server: TestServer;
    let cacheable = 0;

    beforeAll(async () => {
      const wasm = await sdk.build();
      origin = await startOrigin((req, res, body) => {
        if (req.url?.startsWith("/origin/cacheable")) {
          res.setHeader("cache-control", "max-age=60");
          res.end(`cacheable ${++cacheable}`);
        } else {
          res.setHeader("x-origin-saw-sdk", String(req.headers["x-sdk"] ?? ""));
          res.end(`${req.method} ${req.url} ${body.toString()}`);
        }
      });
      server = await serve(wasm, { manifest: manifest(origin.url), clientIpHeader: true });
    });

    afterAll(async () => {
      await server?.close();
      await origin?.close();
    });

    it("reads request headers (long, repeated, absent, listed) and sets, appends and removes response headers", async () => {
      const res = await rawGet(`${server.url}/headers`, ["host", "localhost", "x-long", "l".repeat(3000), "x-multi", "a", "x-multi", "b"]);
      expect(res.status).toBe(203);
      expect(res.body).toBe("long=3000\nmulti=a,b\nmissing=none\nnames-include-x-long=yes\nx-set=one\n");
      expect(res.headers["x-set"]).toBe("one");
      expect(res.headers["x-appended"]).toBe("1, 2");
      expect(res.headers["x-removed"]).toBeUndefined();
    });

    it("reads a whole request body and writes it back", async () => {
      const body = Buffer.alloc(1024 * 1024 + 17, "0123456789abcdef");
      const res = await server.get("/echo", { method: "POST", body });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-length")).toBe(String(body.length));
      expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
    });

    it("reads the method, splits the URI and decodes query parameters", async () => {
      const res = await server.get("/request?a=1&q=x%20y+z%2", { method: "PATCH" });
      expect(await res.text()).toBe("method=PATCH\npath=/request\nquery=?a=1&q=x%20y+z%2\nq=x y z%2\n");
      const bare = await server.get("/request");
      expect(await bare.text()).toBe("method=GET\npath=/request\nquery=\nq=-\n");
    });

    it("forwards the client's request through the cache, or past it with a pass override", async () => {
      const first = await server.get("/proxy/cacheable");
      expect(first.status).toBe(200);
      expect(first.headers.get("x-proxied")).toBe(sdk.name);
      expect(await first.text()).toBe("cacheable 1");
      const second = await server.get("/proxy/cacheable");
      expect(await second.text()).toBe("cacheable 1");
      expect(second.headers.get("x-cache")).toBe("HIT");

      const passed = await server.get("/proxy/cacheable?pass");
      expect(await passed.text()).toBe("cacheable 2");
      expect(passed.headers.get("x-cache")).toBe("PASS");
      const seen = origin.requests.filter((r) => r.url.startsWith("/origin/cacheable"));
      expect(seen.map((r) => r.headers["x-sdk"])).toEqual([sdk.name, sdk.name]);
    });

    it("sets a TTL override on what it forwards", async () => {
      const res = await server.get("/proxy/other?ttl");
      expect(await res.text()).toBe("GET /origin/other ");
      expect(res.headers.get("x-origin-saw-sdk")).toBe(sdk.name);
      const again = await server.get("/proxy/other?ttl");
      expect(again.headers.get("x-cache")).toBe("HIT");
    });

    it("sends a request of its own, asynchronously, with a body", async () => {
      const res = await server.get("/fetch");
      expect(await res.text()).toBe(`status=200\nbody=POST /fetched payload from ${sdk.name}\n`);
    });

    it("reads config stores, retrying with a bigger buffer for long values", async () => {
      expect(await (await server.get("/config/greeting")).text()).toBe("hello");
      expect(await (await server.get("/config/long")).text()).toBe(LONG_CONFIG);
      const missing = await server.get("/config/nope");
      expect(missing.status).toBe(404);
      expect(await missing.text()).toBe("none\n");
    });

    it("reads and writes KV stores", async () => {
      expect(await (await server.get("/kv/seeded")).text()).toBe("from the manifest");
      expect(await (await server.get("/kv/with-metadata")).text()).toBe("value beside long metadata");
      expect((await server.get(`/kv/${sdk.name}-key`)).status).toBe(404);
      const put = await server.get(`/kv/${sdk.name}-key`, { method: "PUT", body: "stored value" });
      expect(put.status).toBe(201);
      const got = await server.get(`/kv/${sdk.name}-key`);
      expect(await got.text()).toBe("stored value");
    });

    it("looks up where the client is and reads the answer's fields", async () => {
      const zurich = await server.get("/geo", { headers: { "x-outpost-client-ip": "203.0.113.7" } });
      expect(await zurich.text()).toBe('country_code=CH\ncity=Zürich "Z"\ncontinent=EU\n');
      const v6 = await server.get("/geo", { headers: { "x-outpost-client-ip": "2001:db8::7" } });
      expect(await v6.text()).toBe("country_code=CA\ncity=-\ncontinent=-\n");
      const unknown = await server.get("/geo", { headers: { "x-outpost-client-ip": "198.51.100.1" } });
      expect(unknown.status).toBe(404);
    });

    it("writes to a log endpoint", async () => {
      const res = await server.get("/log");
      expect(await res.text()).toBe("logged\n");
      expect(server.logger.lines.some((line) => line.includes(`log line from ${sdk.name}`))).toBe(true);
    });

    it("streams a response", async () => {
      const res = await server.get("/stream");
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("chunk 0\nchunk 1\nchunk 2\n");
    });
  });
}
