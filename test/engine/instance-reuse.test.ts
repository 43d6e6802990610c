// Instances reset in place: a module whose whole state the host can restore
// (memory imported, mutable globals exported, no table writes) has its
// instances reused from request to request, and every request still finds
// the module's initial state. Modules that could keep state elsewhere get a
// new instance per request.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HostError } from "../../runtime/abi/status.ts";
import { CpuTracker, WATCHDOG_BYTES } from "../../runtime/engine/cpu-tracker.ts";
import { GuestMemory } from "../../runtime/engine/guest-memory.ts";
import { runGuest } from "../../runtime/engine/guest-run.ts";
import { GuestInstances } from "../../runtime/engine/instance-pool.ts";
import { planInstanceReuse } from "../../runtime/engine/instance-reset.ts";
import { Linker } from "../../runtime/engine/linker.ts";
import { importMemory } from "../../runtime/engine/memory-image.ts";
import { loadModule } from "../../runtime/engine/module-loader.ts";
import type { BodySpec, GuestOutcome, ServiceInfo } from "../../runtime/engine/protocol.ts";
import { scanCodeInSlices } from "../../runtime/engine/wasm-code-scan.ts";
import { guestEnvironment } from "../../runtime/server/guest-env.ts";
import { DEFAULT_LIMITS } from "../../runtime/server/limits.ts";
import { type HostLink, Session } from "../../runtime/session/session.ts";
import { StreamWriter } from "../../runtime/session/stream-writer.ts";
import { EMPTY_SERVICE_DATA } from "../../runtime/stores/service-data.ts";
import { ROOT } from "../helpers/toolchains.ts";
import { wat, watFixture } from "../helpers/wat.ts";

const RESPOND = `
  (import "fastly_http_resp" "new" (func $resp_new (param i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send_downstream (param i32 i32 i32) (result i32)))
  (import "fastly_http_body" "new" (func $body_new (param i32) (result i32)))
  (import "fastly_http_body" "write" (func $body_write (param i32 i32 i32 i32 i32) (result i32)))
  ;; Answers the \`len\` bytes at \`ptr\`.
  (func $answer (param $ptr i32) (param $len i32)
    (drop (call $resp_new (i32.const 0)))
    (drop (call $body_new (i32.const 4)))
    (drop (call $body_write (i32.load (i32.const 4)) (local.get $ptr) (local.get $len) (i32.const 0) (i32.const 8)))
    (drop (call $send_downstream (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 0))))`;

/**
 * Counts in a mutable global, an i64 global and a memory cell, scribbles
 * over its data, optionally sleeps 2 ms (so that requests overlap), and
 * answers what it found.
 */
const counter = (sleep: boolean) =>
  wat(`(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  ${RESPOND}
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (global $wide (mut i64) (i64.const 40))
  (data (i32.const 1000) "\\00\\00\\00\\00pristine")
  (func (export "_start")
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.set $wide (i64.add (global.get $wide) (i64.const 2)))
    (i32.store (i32.const 1000) (i32.add (i32.load (i32.const 1000)) (i32.const 1)))
    (i32.store (i32.const 16) (global.get $count))
    (i32.store (i32.const 20) (i32.wrap_i64 (global.get $wide)))
    (i32.store (i32.const 24) (i32.load (i32.const 1000)))
    (i64.store (i32.const 28) (i64.load (i32.const 1004)))
    (memory.fill (i32.const 1004) (i32.const 120) (i32.const 8))
    (memory.fill (i32.const 40000) (i32.const 255) (i32.const 20000))
    ${sleep ? SLEEP_2MS : ""}
    (call $answer (i32.const 16) (i32.const 20))))`);
/** A relative clock subscription at 2048 for 2 ms, in WASI poll_oneoff. */
const SLEEP_2MS = `
    (memory.fill (i32.const 2048) (i32.const 0) (i32.const 48))
    (i32.store (i32.const 2064) (i32.const 1))
    (i64.store (i32.const 2072) (i64.const 2000000))
    (drop (call $poll_oneoff (i32.const 2048) (i32.const 2112) (i32.const 1) (i32.const 2144)))`;

const FIRST_ANSWER = [...new Uint8Array(Uint32Array.of(1, 42, 1).buffer), ...Buffer.from("pristine")];

const info = { requestId: "0".repeat(32), clientAddress: "127.0.0.1", serverAddress: "127.0.0.1", serverPort: 7676, originalHeaderNames: ["host"], tls: false };
const service: ServiceInfo = { env: guestEnvironment(), data: EMPTY_SERVICE_DATA, backends: [], limits: DEFAULT_LIMITS };
const head = { method: "GET", uri: "http://127.0.0.1:7676/", version: 1, headers: ["host", "127.0.0.1:7676"] };

/** A worker's engine without the thread: runs requests of `bytes` and returns each answer's body. */
async function engine(bytes: Uint8Array, expected: GuestOutcome["kind"] = "ok") {
  const loaded = await loadModule(bytes, { memoryBytes: 16 * 2 ** 20, unknownImports: "error" });
  const tracker = new CpuTracker(new SharedArrayBuffer(WATCHDOG_BYTES));
  const linker = new Linker(tracker, (_s, call, error) => {
    throw new Error(`host bug in ${call}: ${String(error)}`);
  });
  const instances = new GuestInstances(loaded.module, linker.plan(loaded.module, "error"), linker, tracker, loaded.memory);
  let rid = 1;
  const run = async (): Promise<number[]> => {
    let answer: number[] = [];
    let streams = 0;
    const link: HostLink = {
      call: async () => ({ chunk: null, eof: true }),
      invoke: async () => undefined,
      read: async () => ({ chunk: null, eof: true }),
      respond: (_rid: number, _head: unknown, _framing: boolean, body: BodySpec) => {
        answer = body.parts.flatMap((part) => (typeof part === "number" ? [] : [...part]));
      },
      log: () => {},
      openStream: () => new StreamWriter(++streams, link),
      release: () => {},
      write: () => {},
      finish: () => {},
    };
    const outcome = await runGuest(instances, new Session(rid++, head, null, info, service, link), tracker);
    expect(outcome.kind).toBe(expected);
    return answer;
  };
  return { loaded, instances, run };
}

describe("instances reset in place", () => {
  it("serves request after request from one instance, each finding the initial memory and globals", async () => {
    const { loaded, instances, run } = await engine(counter(false));
    expect(loaded.memory?.reuse?.globals).toHaveLength(2);
    for (let i = 0; i < 20; i++) expect(await run()).toEqual(FIRST_ANSWER);
    expect(instances.created).toBe(1);
    expect(instances.reused).toBe(19);
  });

  it("gives requests that overlap instances of their own, then reuses them", async () => {
    const { instances, run } = await engine(counter(true));
    expect(await run()).toEqual(FIRST_ANSWER);
    const concurrent = await Promise.all(Array.from({ length: 8 }, run));
    expect(concurrent).toEqual(new Array(8).fill(FIRST_ANSWER));
    expect(instances.created).toBe(8);
    for (let i = 0; i < 5; i++) expect(await run()).toEqual(FIRST_ANSWER);
    expect(instances.created).toBe(8);
  });

  it("reuses an instance whose run trapped, restored like any other", async () => {
    const trapper = wat(`(module ${RESPOND}
      (memory (export "memory") 1)
      (global $count (mut i32) (i32.const 0))
      (func (export "_start")
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (i32.store (i32.const 16) (global.get $count))
        (i32.store (i32.const 20) (i32.add (i32.load (i32.const 20)) (i32.const 1)))
        (call $answer (i32.const 16) (i32.const 8))
        unreachable))`);
    const { instances, run } = await engine(trapper, "trap");
    for (let i = 0; i < 5; i++) expect(await run()).toEqual([...new Uint8Array(Uint32Array.of(1, 1).buffer)]);
    expect(instances.created).toBe(1);
  });

  it("never reuses an instance whose memory grew", async () => {
    const { instances, run } = await engine(watFixture("isolation-counter"));
    for (let i = 0; i < 5; i++) expect(await run()).toEqual([...new Uint8Array(Uint32Array.of(1, 1, 2).buffer)]);
    expect(instances.created).toBe(5);
    expect(instances.reused).toBe(0);
  });
});

describe("modules whose instances are not reused", () => {
  const plan = (source: string, features: Record<string, boolean> = {}) => {
    const imported = importMemory(wat(`(module (memory (export "memory") 1) ${source} (func (export "_start")))`, "plan.wat", features) as Uint8Array<ArrayBuffer>)!;
    return planInstanceReuse(imported.bytes, imported.plan);
  };

  it("a module that writes a table", async () => {
    const result = await plan(`(table $t 2 funcref) (func $f) (elem declare func $f) (func (export "set") (table.set $t (i32.const 1) (ref.func $f)))`, { reference_types: true });
    expect(result).toEqual({ reuse: null, why: "its code writes tables" });
    expect((await plan(`(table $t 2 funcref) (func (export "grow") (drop (table.grow $t (ref.null func) (i32.const 1))))`, { reference_types: true })).why).toBe("its code writes tables");
  });

  it("a module that drops a passive data segment it could read again", async () => {
    const result = await plan(`(data $d "abc") (func (export "init") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3)) (data.drop $d))`);
    expect(result.why).toBe("its code drops passive data segments");
  });

  it("a module with a mutable v128 global (JavaScript cannot restore it)", async () => {
    expect((await plan(`(global (mut v128) (v128.const i64x2 0 0))`, { simd: true })).why).toBe("a mutable global cannot be restored from JavaScript");
  });

  it("gets a new instance for every request", async () => {
    const tableWriter = wat(`(module ${RESPOND}
      (memory (export "memory") 1)
      (table $t 1 funcref)
      (func $f) (elem declare func $f)
      (func (export "_start") (table.set $t (i32.const 0) (ref.func $f)) (call $answer (i32.const 0) (i32.const 0))))`, "table.wat", { reference_types: true });
    const { loaded, instances, run } = await engine(tableWriter);
    expect(loaded.memory?.reuse).toBeUndefined();
    for (let i = 0; i < 3; i++) await run();
    expect(instances.created).toBe(3);
  });
});

describe("the code scan", () => {
  const jsCompute = join(ROOT, "node_modules/@fastly/js-compute/fastly.wasm");

  it.skipIf(!existsSync(jsCompute))("reads every instruction of the js-compute runtime (SIMD, bulk memory, ...) to the end", async () => {
    expect(await scanCodeInSlices(readFileSync(jsCompute))).toEqual({ writesTables: false, dropsData: false, unknown: null });
  });

  it.skipIf(!existsSync(jsCompute))("lets the event loop run while it reads a large module, and reads it whole", async () => {
    let turns = 0;
    let turning = true;
    const turn = () => {
      turns++;
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const scan = await scanCodeInSlices(readFileSync(jsCompute), 1);
    turning = false;
    expect(scan).toEqual({ writesTables: false, dropsData: false, unknown: null });
    // Paused every millisecond of work (~130 ms of it): many turns, where a synchronous scan allows none.
    expect(turns).toBeGreaterThan(10);
  });
});

describe("a run that has ended", () => {
  it("cannot write into the memory any more, even from a host call still finishing", () => {
    const mem = new GuestMemory(new WebAssembly.Memory({ initial: 1 }));
    mem.u32(0, 7);
    mem.revoke();
    expect(() => mem.u32(0, 8)).toThrow(HostError);
    expect(() => mem.slice(0, 4)).toThrow(HostError);
  });
});
