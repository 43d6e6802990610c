// The AssemblyScript SDK end to end: sdk/assemblyscript/test/assembly/app.ts,
// built with the real `asc`, served by Outpost, one route per part of the SDK.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrigin, type Origin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { closedPort } from "../helpers/socket-origins.ts";
import { toolchain } from "../helpers/toolchains.ts";
import { buildWithSdk } from "./assemblyscript-build.ts";

const LONG = "x".repeat(6000); // longer than the SDK's first-try buffer

describe.runIf(toolchain("assemblyscript"))("AssemblyScript SDK", () => {
  let server: TestServer;
  let origin: Origin;
  let now = Date.UTC(2030, 0, 1);
  const counters = new Map<string, number>();

  beforeAll(async () => {
    origin = await startOrigin(async (req, res, body) => {
      const url = req.url ?? "/";
      if (url === "/slow") {
        await new Promise((resolve) => setTimeout(resolve, 400));
        res.setHeader("cache-control", "no-store");
        res.end("slow");
      } else if (url === "/fast") {
        res.setHeader("cache-control", "no-store");
        res.end("fast");
      } else if (url.startsWith("/counter/")) {
        const count = (counters.get(url) ?? 0) + 1;
        counters.set(url, count);
        res.setHeader("cache-control", "no-cache");
        res.end(`count=${count}`);
      } else {
        res.setHeader("x-origin-saw", `${req.method} ${url} via=${req.headers["x-via"] ?? ""} made=${req.headers["x-made"] ?? ""}`);
        res.end(`echo:${body.toString()}`);
      }
    });
    const refused = await closedPort();
    const manifest = `
      [local_server.backends.origin]
      url = "${origin.url}"
      [local_server.backends.refused]
      url = "http://127.0.0.1:${refused}"
      [local_server.config_stores.settings]
      format = "inline-toml"
      [local_server.config_stores.settings.contents]
      greeting = "hello from config"
      long = "${LONG}"
      [local_server.kv_stores]
      store = [{ key = "seeded", data = "seed value", metadata = "seed meta" }]
    `;
    server = await serve(await buildWithSdk("sdk/assemblyscript/test", "assembly/app.ts"), { manifest, clock: () => now, clientIpHeader: true });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await origin?.close();
  });

  /** The request id the server gave the request for `path`, once it has been logged. */
  async function ridOf(path: string): Promise<number> {
    await expect.poll(() => server.logger.requests.some((entry) => entry.path === path)).toBe(true);
    return server.logger.requests.find((entry) => entry.path === path)!.rid;
  }

  it("reads the client request: method, URL, query, headers and body; writes response headers", async () => {
    const headers = new Headers({ "user-agent": "as-test", "x-multi": "a" });
    headers.append("x-multi", "b");
    const response = await server.get("/echo?q=caf%C3%A9+au+lait&z=1", { method: "POST", headers, body: "the body" });
    expect(response.status).toBe(201);
    const lines = (await response.text()).trim().split("\n");
    expect(lines).toEqual([
      "method=POST",
      `url=${server.url}/echo?q=caf%C3%A9+au+lait&z=1`,
      "path=/echo",
      "query=q=caf%C3%A9+au+lait&z=1",
      "q=café au lait",
      "agent=as-test",
      "multi=a, b", // fetch folds repeated request headers into one line
      "missing=no,0",
      "has-multi=yes",
      "body=the body",
    ]);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(response.headers.get("x-list")).toBe("one, two");
    expect(response.headers.get("x-gone")).toBeNull();
    expect(response.headers.get("x-removed")).toBe("true,false");
    expect(response.headers.get("x-status")).toBe("201");
  });

  it("reads and writes binary bodies", async () => {
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    const response = await server.get("/bytes", { method: "POST", body: bytes });
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(bytes.slice().reverse()))).toBe(true);
  });

  it("forwards the client's request to a backend and its response back", async () => {
    const response = await server.get("/proxy", { method: "POST", body: "forwarded" });
    expect(response.headers.get("x-proxied")).toBe("yes");
    expect(response.headers.get("x-client")).toBe("127.0.0.1");
    expect(response.headers.get("x-origin-saw")).toBe("POST /proxy via=assemblyscript made=");
    expect(await response.text()).toBe("echo:forwarded");
  });

  it("sends a request it builds, with headers and a body", async () => {
    const response = await server.get("/compose");
    expect(await response.text()).toBe("origin said 200: echo:made in AS\n");
    expect(origin.requests.find((r) => r.url === "/composed?x=1")).toMatchObject({ method: "PUT", body: Buffer.from("made in AS") });
  });

  it("returns send failures as FastlyError with the status and the cause", async () => {
    const refused = await server.get("/fail?backend=refused");
    expect(refused.status).toBe(502);
    const text = await refused.text();
    expect(text).toMatch(/^status=1\n/);
    expect(text).toContain("detail=7\n"); // connection_refused
    expect(text).toContain("message=send to backend refused: error (connection refused)");

    const unknown = await (await server.get("/fail?backend=nope")).text();
    expect(unknown).toMatch(/^status=2\n/); // inval: no such backend
    expect(unknown).toContain("message=send to backend nope: invalid argument");
  });

  it("sends asynchronously, selects the first response and waits for the other", async () => {
    const response = await server.get("/async");
    expect(await response.text()).toBe("first=1:fast second=slow ready-before-wait=false\n");
  });

  it("selects a failed request with its error, and returns failures from tryWait", async () => {
    expect(await (await server.get("/async-fail")).text()).toBe(
      [
        "first=0 ok=false error=send to backend refused: error (connection refused)",
        "then=slow",
        "wait-error=send to backend refused: error (connection refused)",
        "",
      ].join("\n"),
    );
  });

  it("applies cache overrides: a TTL caches what the origin would not, pass never caches", async () => {
    const body = async (mode: string) => (await server.get(`/cache?mode=${mode}`)).text();
    expect([await body("ttl"), await body("ttl")]).toEqual(["count=1", "count=1"]);
    expect([await body("pass"), await body("pass")]).toEqual(["count=1", "count=2"]);
    expect([await body("none"), await body("none")]).toEqual(["count=1", "count=2"]); // no-cache: revalidated
  });

  it("streams a response: what the body held, then each write, then an appended body", async () => {
    const response = await server.get("/stream");
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect(await response.text()).toBe("first\nchunk 0\nchunk 1\nchunk 2\nappended\n");
  });

  it("reads config stores, values longer than the first buffer included", async () => {
    expect(await (await server.get("/config?key=greeting")).text()).toBe("hello from config");
    expect(await (await server.get("/config?key=long")).text()).toBe(LONG);
    expect((await server.get("/config?key=nothing")).status).toBe(404);
  });

  describe("KV stores", () => {
    const get = async (key: string) => {
      const response = await server.get(`/kv/get?key=${encodeURIComponent(key)}`);
      return { status: response.status, text: await response.text(), generation: response.headers.get("x-generation"), metadata: response.headers.get("x-metadata") };
    };
    const put = async (key: string, body: string, query = "") => {
      const response = await server.get(`/kv/put?key=${encodeURIComponent(key)}${query}`, { method: "PUT", body });
      return { status: response.status, text: await response.text() };
    };

    it("looks up values with their metadata and generation", async () => {
      expect(await get("seeded")).toEqual({ status: 200, text: "seed value", generation: "1", metadata: "seed meta" });
      expect((await get("absent")).status).toBe(404);
    });

    it("compare-and-swaps on the generation", async () => {
      expect(await put("cas", "1")).toEqual({ status: 200, text: "ok\n" });
      expect(await get("cas")).toMatchObject({ text: "1", generation: "1", metadata: null });
      expect((await put("cas", "2", "&gen=1")).status).toBe(200);
      const stale = await put("cas", "3", "&gen=1");
      expect(stale.status).toBe(412);
      expect(stale.text).toBe("KV insert store/cas: precondition failed\n");
      expect(await get("cas")).toMatchObject({ text: "2", generation: "2" });
    });

    it("adds, appends and prepends, with metadata", async () => {
      expect((await put("log", "b", "&mode=add&meta=first")).status).toBe(200);
      expect((await put("log", "x", "&mode=add")).status).toBe(412);
      await put("log", "c", "&mode=append&meta=second");
      await put("log", "a", "&mode=prepend");
      expect(await get("log")).toMatchObject({ text: "abc", generation: "3", metadata: null }); // each write replaces the metadata
      await put("log", "abc", "&meta=caf%C3%A9");
      // The app sends the metadata's UTF-8 bytes as a header value, which fetch reads as Latin-1.
      expect(Buffer.from((await get("log")).metadata!, "latin1").toString()).toBe("café");
    });

    it("writes a large streamed body", async () => {
      const large = "0123456789abcdef".repeat(64 * 1024);
      expect((await put("large", large)).status).toBe(200);
      expect((await get("large")).text).toBe(large);
    });

    it("expires entries after their TTL", async () => {
      await put("session", "token", "&ttl=60");
      expect((await get("session")).status).toBe(200);
      now += 61_000;
      expect((await get("session")).status).toBe(404);
    });

    it("deletes, and says when there was nothing to delete", async () => {
      await put("temp", "x");
      expect(await (await server.get("/kv/delete?key=temp")).text()).toBe("deleted\n");
      expect(await (await server.get("/kv/delete?key=temp")).text()).toBe("missing\n");
    });

    it("lists keys by prefix, a page at a time", async () => {
      for (const key of ["dir/1", "dir/2", "dir/\"3\""]) await put(key, key);
      const first = await (await server.get("/kv/list?prefix=dir/&limit=2")).text();
      const [keys, next] = first.trim().split("\n");
      expect(keys).toBe("keys=dir/\"3\",dir/1");
      expect(next).toMatch(/^next=.+/);
      const cursor = encodeURIComponent(next.slice("next=".length));
      expect(await (await server.get(`/kv/list?prefix=dir/&limit=2&cursor=${cursor}`)).text()).toBe("keys=dir/2\nnext=\n");
    });

    it("stops the request when the store does not exist, saying so", async () => {
      expect((await server.get("/kv/open-missing")).status).toBe(500);
      const rid = await ridOf("/kv/open-missing");
      await expect.poll(() => server.logger.lines).toContain(`#${rid} stderr :: FastlyError: no KV store named no-such-store`);
    });
  });

  it("logs to named endpoints, standard output and standard error", async () => {
    expect(await (await server.get("/log")).text()).toBe("logged\n");
    const rid = await ridOf("/log");
    await expect.poll(() => server.logger.lines).toContain(`#${rid} audit :: an audit line`);
    expect(server.logger.lines).toContain(`#${rid} stdout :: a stdout line`);
    expect(server.logger.lines).toContain(`#${rid} stderr :: a stderr line`);
  });

  it("knows the client's address and geolocation", async () => {
    const local = await (await server.get("/client")).text();
    expect(local).toMatch(/^address=127\.0\.0\.1\n/);
    const geo = JSON.parse(local.split("\ngeo=")[1]) as Record<string, unknown>;
    expect(geo).toHaveProperty("city");
    const v6 = await (await server.get("/client", { headers: { "x-outpost-client-ip": "2001:db8::7" } })).text();
    expect(v6).toBe("address=2001:db8::7\ngeo=none\n");
  });

  it("formats addresses (RFC 5952) and decodes URL components", async () => {
    expect((await (await server.get("/format")).text()).split("\n")).toEqual([
      "::",
      "::1",
      "2001:db8::1",
      "1:0:0:1::1",
      "192.0.2.33",
      "a b c/d%zzé",
      "",
    ]);
  });

  it("reads the clocks", async () => {
    const [wall, monotonic] = (await (await server.get("/time")).text()).trim().split("\n");
    expect(Math.abs(Number(wall) - Date.now())).toBeLessThan(60_000);
    expect(monotonic).toBe("monotonic");
  });

  it("answers 500 on a throw or an unwrapped error, and logs the message", async () => {
    expect((await server.get("/panic")).status).toBe(500);
    const rid = await ridOf("/panic");
    await expect.poll(() => server.logger.lines.some((line) => line.startsWith(`#${rid} stderr :: abort: deliberate failure at `))).toBe(true);

    expect((await server.get("/panic?how=unwrap")).status).toBe(500);
    const unwrapRid = await ridOf("/panic?how=unwrap");
    await expect.poll(() => server.logger.lines).toContain(`#${unwrapRid} stderr :: FastlyError: send to backend no-such-backend: invalid argument`);
    expect((await server.get("/echo")).status).toBe(201); // and serves the next request
  });
});
