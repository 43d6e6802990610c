// Pooled memories keep requests isolated: each request finds the module's
// initial memory, whatever earlier ones wrote or how far they grew it.
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadModule } from "../../runtime/engine/module-loader.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { watFixture } from "../helpers/wat.ts";

const SCRIBBLER = watFixture("isolation-scribbler");
let server: TestServer;
beforeAll(async () => {
  server = await serve(SCRIBBLER, { workers: 1 });
});
afterAll(() => server.close());

it("pools this module's memory (it has the simple shape pooling needs)", async () => {
  const loaded = await loadModule(SCRIBBLER, { memoryBytes: 128 * 2 ** 20, unknownImports: "error" });
  expect(loaded.memory).toMatchObject({ initialPages: 2, maximumPages: 8 });
  expect(loaded.memory!.segments).toHaveLength(2);
});

it("gives every request the initial memory, sequentially and concurrently, after scribbles and growth", async () => {
  const first = await (await server.get("/")).text();
  expect(first).toMatch(/^[0-9a-f]{8}\/2$/);
  for (let i = 0; i < 30; i++) expect(await (await server.get("/")).text()).toBe(first);
  const concurrent = await Promise.all(Array.from({ length: 100 }, async () => (await server.get("/")).text()));
  expect(new Set(concurrent)).toEqual(new Set([first]));
});

it("reuses a memory only after rewriting every byte of it, and never one that grew", async () => {
  const { MemoryPool } = await import("../../runtime/engine/memory-pool.ts");
  const pool = new MemoryPool({ initialPages: 1, maximumPages: 4, segments: [{ offset: 10, bytes: Uint8Array.of(1, 2, 3) }], passiveData: false });
  const memory = pool.take();
  const initial = new Uint8Array(memory.buffer).slice();
  expect([...initial.subarray(9, 14)]).toEqual([0, 1, 2, 3, 0]);
  new Uint8Array(memory.buffer).fill(0xee);
  pool.give(memory);
  const again = pool.take();
  expect(again).toBe(memory);
  expect(new Uint8Array(again.buffer)).toEqual(initial);
  again.grow(1);
  pool.give(again);
  expect(pool.take()).not.toBe(again);
});
