// The KV store as a js-compute app sees it through `fastly:kv-store`
// (test/fixtures/js/kv-app.js): values and metadata, insert modes,
// generations, TTLs, deletes, listing, and the SDK's errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { type KvTestServer, kvServer } from "./kv-server.ts";

describe.runIf(toolchain("js-compute"))("fastly:kv-store", () => {
  let server: KvTestServer;
  let now = Date.UTC(2030, 0, 1);

  beforeAll(async () => {
    server = await kvServer(await jsCompute("test/fixtures/js/kv-app.js"), {
      manifest: `
        [local_server.kv_stores]
        files = [{ key = "index.html", data = "<h1>hi</h1>", metadata = "text/html" }]
      `,
      clock: () => now,
    });
  }, 120_000);
  afterAll(() => server?.close());

  const put = (key: string, body: BodyInit, query = "") => server.get(`/kv/files/${key}${query}`, { method: "PUT", body });
  const get = (key: string) => server.get(`/kv/files/${key}`);

  it("reads seeded values with their metadata, and writes binary values", async () => {
    const seeded = await get("index.html");
    expect([seeded.status, await seeded.text(), seeded.headers.get("x-metadata")]).toEqual([200, "<h1>hi</h1>", "text/html"]);
    expect((await get("nothing")).status).toBe(404);
    const binary = new Uint8Array([0, 1, 2, 253, 254, 255]);
    expect((await put("bin", binary, "?metadata=raw")).status).toBe(200);
    const back = await get("bin");
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(binary);
    expect(back.headers.get("x-metadata")).toBe("raw");
  });

  it("adds, appends and prepends, and matches generations", async () => {
    expect(await (await put("log", "b", "?mode=add")).text()).toBe("ok");
    expect(await (await put("log", "x", "?mode=add")).text()).toMatch(/Precondition failed/);
    await put("log", "c", "?mode=append");
    await put("log", "a", "?mode=prepend");
    expect(await (await get("log")).text()).toBe("abc");
    // Three writes: the key is at generation 3.
    expect(await (await put("log", "stale", "?gen=2")).text()).toMatch(/Precondition failed/);
    expect(await (await put("log", "fresh", "?gen=3")).text()).toBe("ok");
    expect(await (await get("log")).text()).toBe("fresh");
  });

  it("stores a request body handed to put() unread", async () => {
    const upload = Buffer.alloc(256 * 1024, "0123456789abcdef");
    expect(await (await server.get("/stream/files/upload", { method: "PUT", body: upload })).text()).toBe("ok");
    // js-compute's put() of a body stream does not wait for the write: look until it lands.
    let stored: Buffer | null = null;
    for (let i = 0; i < 50 && !stored; i++) {
      const response = await get("upload");
      if (response.status === 200) stored = Buffer.from(await response.arrayBuffer());
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stored?.equals(upload)).toBe(true);
  });

  it("forgets entries after their TTL", async () => {
    await put("session", "token", "?ttl=60");
    expect((await get("session")).status).toBe(200);
    now += 60_000;
    expect((await get("session")).status).toBe(404);
  });

  it("deletes keys, and reports deleting a missing one", async () => {
    await put("temp", "x");
    expect(await (await server.get("/kv/files/temp", { method: "DELETE" })).text()).toBe("deleted");
    expect(await (await server.get("/kv/files/temp", { method: "DELETE" })).text()).toMatch(/KVStore delete: Not found/);
  });

  it("lists keys by prefix with a cursor, and refuses a cursor it did not give", async () => {
    for (const key of ["dir/1", "dir/2", "dir/3"]) await put(key, key);
    const first = (await (await server.get("/list/files?prefix=dir/&limit=2")).json()) as { list: string[]; cursor?: string };
    expect(first.list).toEqual(["dir/1", "dir/2"]);
    const second = (await (await server.get(`/list/files?prefix=dir/&limit=2&cursor=${encodeURIComponent(first.cursor!)}`)).json()) as { list: string[]; cursor?: string };
    expect(second).toEqual({ list: ["dir/3"] });
    expect(await (await server.get("/list/files?cursor=boooo")).text()).toMatch(/Bad request/);
  });

  it("refuses to open a store fastly.toml does not declare", async () => {
    const response = await server.get("/kv/nowhere/key");
    expect(await response.text()).toMatch(/No KVStore named 'nowhere' exists/);
  });
});
