// The acceptance tests of the KV store with a real js-compute app
// (test/fixtures/js/kv-app.js): a compare-and-swap counter under 200
// concurrent increments, kept across a restart, and 10,000 keys listed page
// by page.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { type KvTestServer, kvServer } from "./kv-server.ts";

const MANIFEST = `
  [local_server.kv_stores]
  counters = []
  many = { file = "many.json", format = "json" }
`;

describe.runIf(toolchain("js-compute"))("a js-compute app on the KV store", () => {
  let wasm: Uint8Array;
  let dir: string;
  const servers: KvTestServer[] = [];
  const start = async () => {
    const server = await kvServer(wasm, { manifest: MANIFEST, dir, stateDir: join(dir, "state"), workers: 2 });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "outpost-kv-js-"));
    const many: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) many[`${i % 10 === 0 ? "tenth" : "key"}-${String(i).padStart(5, "0")}`] = `value ${i}`;
    writeFileSync(join(dir, "many.json"), JSON.stringify(many));
    wasm = await jsCompute("test/fixtures/js/kv-app.js");
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) await server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("counts exactly 200 after 200 concurrent compare-and-swap increments, and keeps the count across a restart", async () => {
    let server = await start();
    const answers = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const response = await server.get("/incr/counters/hits", { method: "POST" });
        expect(response.status, await response.clone().text()).toBe(200);
        return (await response.json()) as { value: number; attempts: number };
      }),
    );
    // Every increment saw a different count: none was lost, none applied twice.
    expect(answers.map((answer) => answer.value).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await (await server.get("/kv/counters/hits")).text()).toBe("200");

    await server.close();
    server = await start();
    expect(await (await server.get("/kv/counters/hits")).text()).toBe("200");
    const next = await server.get("/incr/counters/hits", { method: "POST" });
    expect(await next.json()).toEqual({ value: 201, attempts: 1 });
  }, 180_000);

  it("lists 10,000 keys page by page: all of them, no duplicates, and by prefix", async () => {
    const server = servers.at(-1) ?? (await start());
    const listAll = async (query: string) => {
      const keys: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const response = await server.get(`/list/many?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        expect(response.status).toBe(200);
        const page = (await response.json()) as { list: string[]; cursor?: string };
        keys.push(...page.list);
        cursor = page.cursor;
        pages++;
      } while (cursor);
      return { keys, pages };
    };
    const all = await listAll("limit=1000");
    expect(all.pages).toBe(10);
    expect(all.keys).toHaveLength(10_000);
    expect(new Set(all.keys).size).toBe(10_000);
    expect(all.keys).toEqual([...all.keys].sort());
    const tenth = await listAll("prefix=tenth-&limit=300");
    expect(tenth.keys).toHaveLength(1000);
    expect(tenth.pages).toBe(4);
    expect(tenth.keys.every((key) => key.startsWith("tenth-"))).toBe(true);
    // Without a limit a page holds up to 1000 keys.
    expect(((await (await server.get("/list/many?prefix=key-")).json()) as { list: string[] }).list).toHaveLength(1000);
  }, 120_000);
});
