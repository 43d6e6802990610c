// Every request runs in a fresh instance: a guest that counts in a mutable
// global and in a memory cell, and grows its memory, sees a pristine module
// each time — one request after another, and hundreds interleaved on the
// same workers (the guest sleeps mid-request so that they overlap).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { watFixture } from "../helpers/wat.ts";

describe("per-request isolation", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("isolation-counter"), { workers: 2 });
  });
  afterAll(() => server.close());

  /** The global, the memory cell and the memory size (pages) the guest answered. */
  async function count(path: string): Promise<[number, number, number]> {
    const response = await server.get(path);
    expect(response.status).toBe(200);
    const r = await Results.of(response);
    return [r.u32(), r.u32(), r.u32()];
  }

  it("starts every sequential request from the module's initial state", async () => {
    for (let i = 0; i < 40; i++) expect(await count(`/sequential/${i}`)).toEqual([1, 1, 2]);
  });

  it("starts every one of many concurrent requests from the module's initial state", async () => {
    const counts = await Promise.all(Array.from({ length: 300 }, (_, i) => count(`/concurrent/${i}`)));
    expect(counts).toEqual(new Array(300).fill([1, 1, 2]));
  });
});
