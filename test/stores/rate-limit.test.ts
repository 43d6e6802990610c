// Edge rate limiting as guests see it: `fastly_erl` statuses and out-values
// (WAT), counts shared by every worker under concurrent requests, and a
// js-compute app whose EdgeRateLimiter blocks a client after the configured
// rate and lets it back once its penalty is over. The shortest penalty the
// API allows is a minute, so that test runs on the server's injectable clock
// (real time plus an offset the test moves) instead of waiting.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Status } from "../../runtime/abi/status.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { Results } from "../helpers/results.ts";
import { jsCompute, toolchain } from "../helpers/toolchains.ts";
import { watFixture } from "../helpers/wat.ts";

describe("fastly_erl", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await serve(watFixture("erl-probe"));
  });
  afterAll(async () => {
    await server?.close();
  });

  it("counts, estimates rates, penalizes, and refuses arguments the platform does not take", async () => {
    const r = await Results.of(await server.get("/"));
    const ok = (value: number) => {
      expect(r.u32()).toBe(Status.OK);
      expect(r.u32()).toBe(value);
    };
    expect(r.u32()).toBe(Status.OK); // increment by 600
    ok(600); // count over 60 s
    expect(r.u32()).toBe(Status.INVAL); // a 15 s count duration
    ok(10); // 600 over 60 s: 10 per second
    expect(r.u32()).toBe(Status.INVAL); // a 5 s rate window
    ok(0); // not in the box
    expect(r.u32()).toBe(Status.INVAL); // a 59 s TTL
    expect(r.u32()).toBe(Status.INVAL); // a 61 min TTL
    ok(0); // refused adds added nothing
    expect(r.u32()).toBe(Status.OK); // a 1 min TTL
    ok(1);
    ok(1); // check_rate: 100 in one second is above 10/s
    ok(0); // check_rate: 1 is not
    expect(r.u32()).toBe(Status.INVAL); // a 2 s window
    expect(r.u32()).toBe(Status.INVAL); // a 30 s TTL
    ok(1); // the refused check_rate calls counted nothing
    expect(r.u32()).toBe(Status.INVAL); // a 257-byte entry
    expect(r.u32()).toBe(Status.OK); // a 256-byte entry
    expect(r.u32()).toBe(Status.INVAL); // a counter name that is not UTF-8
    expect(r.u32()).toBe(Status.INVAL); // blocked_out outside memory...
    ok(100); // ...and nothing counted
    expect(r.u32()).toBe(Status.BADALIGN); // a misaligned has_out
    expect(r.remaining).toBe(0);
  });
});

describe.runIf(toolchain("js-compute"))("a js-compute app with an edge rate limiter", () => {
  let server: TestServer;
  /** How far the server's clock runs ahead of real time. */
  let offset = 0;
  beforeAll(async () => {
    const wasm = await jsCompute("test/fixtures/js/erl-app.js");
    server = await serve(wasm, { clientIpHeader: true, workers: 2, clock: () => Date.now() + offset });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const from = async (address: string) => {
    const response = await server.get("/", { headers: { "x-outpost-client-ip": address } });
    return `${response.status} ${(await response.text()).trim()}`;
  };
  const state = async (entry: string) => (await server.get(`/state?entry=${encodeURIComponent(entry)}`)).json();

  it("counts concurrent requests from every worker together", async () => {
    const responses = await Promise.all(Array.from({ length: 40 }, () => server.get("/hit?entry=together")));
    expect(responses.map((response) => response.status)).toEqual(new Array(40).fill(204));
    expect(await state("together")).toEqual({ count: 40, rate: 0, penalized: false });
  });

  it("blocks a client above the rate, keeps it out for the penalty's TTL, then lets it back", async () => {
    const client = "198.51.100.23";
    // Each request weighs 10 against a limit of 1 per second over 60 seconds: 60 is at the limit, 70 above it.
    for (let i = 1; i <= 6; i++) expect(await from(client), `request ${i}`).toBe("200 ok");
    expect(await from(client)).toBe("429 rate exceeded");
    expect(await from(client)).toBe("429 in the penalty box");
    expect(await state(client)).toEqual({ count: 70, rate: 1, penalized: true });
    // Another client is counted apart.
    expect(await from("198.51.100.24")).toBe("200 ok");

    offset += 50_000;
    expect(await from(client)).toBe("429 in the penalty box");
    // A minute after the penalty began it is over, and the last minute's rate is back under the limit.
    offset += 70_000;
    expect(await state(client)).toMatchObject({ count: 0, penalized: false });
    expect(await from(client)).toBe("200 ok");
  });
});
