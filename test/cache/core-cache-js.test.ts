// The Core Cache and Simple Cache APIs as a js-compute app uses them
// (`fastly:cache`), behaving as the platform documents them
// (https://www.fastly.com/documentation/reference/compute/sdks/javascript/js-compute/cache/).
// Slow work in the guest waits at a "gate" backend the test answers when it
// chooses, so concurrent requests overlap for certain.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";

const present = toolchain("js-compute");

describe.skipIf(!present)("js-compute: fastly:cache", () => {
  let server: TestServer;
  let origin: Origin;
  let skew = 0;
  const gates = new Map<string, { arrived: PromiseWithResolvers<void>; opened: PromiseWithResolvers<void> }>();
  const gate = (name: string) => {
    let state = gates.get(name);
    if (!state) gates.set(name, (state = { arrived: Promise.withResolvers(), opened: Promise.withResolvers() }));
    return state;
  };
  let keys = 0;
  const key = (name: string) => `${name}-${++keys}`;
  const get = (path: string, params: Record<string, string | number>) =>
    server.get(`${path}?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`);

  beforeAll(async () => {
    origin = await startOrigin(async (req, res) => {
      const state = gate(new URL(req.url!, "http://x").pathname.slice(1));
      state.arrived.resolve();
      await state.opened.promise;
      res.end("open");
    });
    server = await serve(await jsCompute("test/fixtures/js/core-cache.js"), {
      backends: { gate: origin.url },
      // A js-compute guest is SpiderMonkey in Wasm: generous CPU time on a loaded machine.
      limits: { cpuMs: 2_000, wallMs: 30_000 },
      workers: 1,
      clock: () => Date.now() + skew,
    });
  }, 120_000);
  afterAll(async () => {
    for (const state of gates.values()) state.opened.resolve();
    await server?.close();
    await origin?.close();
  });

  describe("CoreCache", () => {
    it("lookup finds what insert stored, with its metadata; a missing key is null", async () => {
      const k = key("core");
      expect((await get("/core/lookup", { key: k })).status).toBe(404);
      const inserted = await get("/core/insert", { key: k, value: "core value", meta: "about it", ttl: 30_000, swr: 5_000, length: 10 });
      expect(await inserted.text()).toBe("inserted");
      const found = await get("/core/lookup", { key: k });
      expect(found.status).toBe(200);
      expect(await found.text()).toBe("core value");
      expect(found.headers.get("x-found")).toBe("true");
      expect(found.headers.get("x-usable")).toBe("true");
      expect(found.headers.get("x-stale")).toBe("false");
      expect(found.headers.get("x-must-insert")).toBe("false");
      expect(found.headers.get("x-max-age")).toBe("30000");
      expect(found.headers.get("x-swr")).toBe("5000");
      expect(found.headers.get("x-length")).toBe("10");
      expect(found.headers.get("x-metadata")).toBe("about it");
      expect(found.headers.get("x-hits")).toBe("1");
      expect(Number(found.headers.get("x-age"))).toBeLessThan(10_000);
      const again = await get("/core/lookup", { key: k, start: 5, end: 9 });
      expect(await again.text()).toBe("value");
      expect(again.headers.get("x-hits")).toBe("2");
    });

    it("lookup selects the variant named by the vary rule", async () => {
      const k = key("vary");
      await (await get("/core/insert", { key: k, value: "gzip body", vary: "accept-encoding", variant: "gzip" })).text();
      await (await get("/core/insert", { key: k, value: "plain body", vary: "accept-encoding", variant: "identity" })).text();
      expect(await (await get("/core/lookup", { key: k, vary: "accept-encoding", variant: "gzip" })).text()).toBe("gzip body");
      expect(await (await get("/core/lookup", { key: k, vary: "accept-encoding", variant: "identity" })).text()).toBe("plain body");
      expect((await get("/core/lookup", { key: k, vary: "accept-encoding", variant: "br" })).status).toBe(404);
    });

    it("transactionLookup collapses concurrent misses: one inserter, everyone gets its bytes", async () => {
      const k = key("tx");
      const name = `${k}-insert`;
      const requests = Array.from({ length: 4 }, () => get("/core/transaction", { key: k, value: "made once", gate: name }));
      await gate(name).arrived;
      await sleep(200); // let the others reach their lookups
      gate(name).opened.resolve();
      const responses = await Promise.all(requests);
      const roles = responses.map((r) => r.headers.get("x-role"));
      expect(roles.filter((role) => role === "inserter")).toHaveLength(1);
      for (const response of responses) {
        expect(await response.text()).toBe("made once");
        expect(response.headers.get("x-metadata")).toBe("made once");
      }
      expect(origin.requests.filter((r) => r.url === `/${name}`)).toHaveLength(1);
    });

    it("transactionLookupAsync is pending while another request holds the insert", async () => {
      const k = key("tx-async");
      const name = `${k}-insert`;
      const holder = get("/core/transaction", { key: k, value: "from the holder", gate: name });
      await gate(name).arrived;
      // The waiter has looked (and been told to wait) by the time it reaches its own gate.
      const waiter = get("/core/transaction-async", { key: k, value: "unused", arrive: `${k}-waiter` });
      await gate(`${k}-waiter`).arrived;
      gate(name).opened.resolve();
      gate(`${k}-waiter`).opened.resolve();
      expect((await holder).headers.get("x-role")).toBe("inserter");
      const response = await waiter;
      expect(response.headers.get("x-was-pending")).toBe("true");
      expect(response.headers.get("x-role")).toBe("reader");
      expect(await response.text()).toBe("from the holder");
      // With nothing to wait for, the lookup is not pending at all.
      const alone = await get("/core/transaction-async", { key: key("tx-async-alone"), value: "alone" });
      expect(alone.headers.get("x-was-pending")).toBe("false");
      expect(alone.headers.get("x-role")).toBe("inserter");
      expect(await alone.text()).toBe("alone");
    });

    it("a cancelled transaction passes the insert to a waiting request", async () => {
      const k = key("cancel");
      const name = `${k}-first`;
      const first = get("/core/transaction", { key: k, value: "never", gate: name, cancel: 1 });
      await gate(name).arrived;
      const second = get("/core/transaction", { key: k, value: "second try" });
      await sleep(200);
      gate(name).opened.resolve();
      expect((await first).headers.get("x-role")).toBe("canceller");
      const response = await second;
      expect(response.headers.get("x-role")).toBe("inserter");
      expect(await response.text()).toBe("second try");
      const reader = await get("/core/transaction", { key: k, value: "unused" });
      expect(reader.headers.get("x-role")).toBe("reader");
      expect(await reader.text()).toBe("second try");
    });
  });

  describe("SimpleCache", () => {
    it("getOrSet runs set only when the key has no usable entry", async () => {
      const k = key("simple");
      const first = await get("/simple/get-or-set", { key: k, value: "computed", ttl: 60 });
      expect(first.headers.get("x-set-ran")).toBe("true");
      expect(await first.text()).toBe("computed");
      const second = await get("/simple/get-or-set", { key: k, value: "recomputed", ttl: 60 });
      expect(second.headers.get("x-set-ran")).toBe("false");
      expect(await second.text()).toBe("computed");
      expect(await (await get("/simple/get", { key: k })).text()).toBe("computed");
      expect((await get("/simple/get", { key: key("absent") })).status).toBe(404);
    });

    it("getOrSet stores and returns a value of several megabytes", async () => {
      const k = key("simple-big");
      const size = 3 * 1024 * 1024;
      const first = await get("/simple/get-or-set", { key: k, size });
      expect((await first.text()).length).toBe(size);
      const again = await get("/simple/get-or-set", { key: k, size: 1 });
      expect(again.headers.get("x-set-ran")).toBe("false");
      expect((await again.text()).length).toBe(size);
    });

    it("getOrSet collapses concurrent callers onto one set", async () => {
      const k = key("simple-collapse");
      const name = `${k}-set`;
      const requests = Array.from({ length: 3 }, () => get("/simple/get-or-set", { key: k, value: "shared", gate: name }));
      await gate(name).arrived;
      await sleep(200);
      gate(name).opened.resolve();
      const responses = await Promise.all(requests);
      expect(responses.filter((r) => r.headers.get("x-set-ran") === "true")).toHaveLength(1);
      for (const response of responses) expect(await response.text()).toBe("shared");
    });

    it("entries expire after their TTL", async () => {
      const k = key("simple-ttl");
      await (await get("/simple/get-or-set", { key: k, value: "v1", ttl: 10 })).text();
      skew += 11_000;
      expect((await get("/simple/get", { key: k })).status).toBe(404);
      const again = await get("/simple/get-or-set", { key: k, value: "v2", ttl: 10 });
      expect(again.headers.get("x-set-ran")).toBe("true");
      expect(await again.text()).toBe("v2");
    });

    it("purge removes an entry, globally or in this POP", async () => {
      for (const scope of ["global", "pop"]) {
        const k = key(`simple-purge-${scope}`);
        const other = key("simple-keep");
        await (await get("/simple/get-or-set", { key: k, value: "to purge" })).text();
        await (await get("/simple/get-or-set", { key: other, value: "to keep" })).text();
        expect(await (await get("/simple/purge", { key: k, scope })).text()).toBe("purged");
        expect((await get("/simple/get", { key: k })).status).toBe(404);
        expect(await (await get("/simple/get", { key: other })).text()).toBe("to keep");
      }
    });
  });
});
