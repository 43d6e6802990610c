// One in-process layer of bench/instantiate.ts, measured in a worker thread
// of its own: a fresh V8 heap per layer, so that no layer pays for another's
// garbage (the js-compute guest's 7 MiB memories make GC the larger part of
// its cost), and on a thread, as Outpost runs guests.
//
//   instance   a new memory and `new WebAssembly.Instance(module, stubImports)`:
//              V8 alone, with no pooling (what every request cost before pooling)
//   pooled     the same with a memory from Outpost's pool, reset to the module's
//              initial image (runtime/engine/memory-pool.ts), then given back
//   bind       Outpost's per-request set-up: a Session and an instance in
//              the initial state from GuestInstances (runtime/engine/
//              instance-pool.ts: a reused instance reset in place when the
//              module allows, else a new one over a pooled memory), given back
//   run        bind, then the guest's `_start` run to completion through JSPI
//              as runtime/engine/worker-entry.ts runs it, with a stub link to
//              the main thread (no thread hop, no HTTP)
import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { CpuTracker, WATCHDOG_BYTES } from "../runtime/engine/cpu-tracker.ts";
import { runGuest } from "../runtime/engine/guest-run.ts";
import { GuestInstances } from "../runtime/engine/instance-pool.ts";
import { Linker } from "../runtime/engine/linker.ts";
import { MemoryPool } from "../runtime/engine/memory-pool.ts";
import { loadModule } from "../runtime/engine/module-loader.ts";
import type { ServiceInfo } from "../runtime/engine/protocol.ts";
import { guestEnvironment } from "../runtime/server/guest-env.ts";
import { DEFAULT_LIMITS } from "../runtime/server/limits.ts";
import { EMPTY_SERVICE_DATA } from "../runtime/stores/service-data.ts";
import { type HostLink, Session } from "../runtime/session/session.ts";
import { StreamWriter } from "../runtime/session/stream-writer.ts";
import { type Summary, summarize } from "./lib.ts";

export type Layer = "instance" | "pooled" | "bind" | "run";

export interface LayerJob {
  layer: Layer;
  wasm: string;
  budgetMs: number;
}

export type LayerResult = { ok: true; summary: Summary; imports: number; bytes: number } | { ok: false; error: string };

const MAX_RUNS = 20_000;
const WARMUP = 20;

/** Runs `fn` until the budget or MAX_RUNS is spent (at least 10 times); each run's time in µs. */
async function sample(fn: () => unknown, budgetMs: number): Promise<Summary> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  const end = performance.now() + budgetMs;
  while (times.length < MAX_RUNS && (times.length < 10 || performance.now() < end)) {
    const t0 = performance.now();
    const result = fn();
    if (result instanceof Promise) await result;
    times.push((performance.now() - t0) * 1_000);
  }
  return summarize(times);
}

let streams = 0;

/** What a worker's session may ask of the main thread: answered at once, or ignored. */
const stubLink: HostLink = {
  call: async () => ({ chunk: null, eof: true }),
  invoke: async () => undefined,
  read: async () => ({ chunk: null, eof: true }),
  respond: () => {},
  log: () => {},
  openStream: () => new StreamWriter(++streams, stubLink),
  release: () => {},
  write: () => {},
  finish: () => {},
};

const service: ServiceInfo = { env: guestEnvironment(), data: EMPTY_SERVICE_DATA, backends: [], limits: DEFAULT_LIMITS };
const info = {
  requestId: "0".repeat(32),
  clientAddress: "127.0.0.1",
  serverAddress: "127.0.0.1",
  serverPort: 7676,
  originalHeaderNames: ["host"],
  tls: false,
};
const head = { method: "GET", uri: "http://127.0.0.1:7676/", version: 1, headers: ["host", "127.0.0.1:7676"] };

async function measure({ layer, wasm, budgetMs }: LayerJob): Promise<LayerResult> {
  const bytes = readFileSync(wasm);
  const imports = WebAssembly.Module.imports(await WebAssembly.compile(bytes)).length;
  // The module as Outpost compiles it (memory capped at the limit).
  const { module, memory: memoryPlan } = await loadModule(bytes, { memoryBytes: DEFAULT_LIMITS.memoryBytes, unknownImports: "error" });
  if (!memoryPlan) return { ok: false, error: "the module's memory is not pooled" };
  const memories = new MemoryPool(memoryPlan);

  if (layer === "instance" || layer === "pooled") {
    const stubs: Record<string, Record<string, unknown>> = {};
    for (const entry of WebAssembly.Module.imports(module)) (stubs[entry.module] ??= {})[entry.name] = () => 0;
    const fresh = () => {
      stubs.outpost.memory = new WebAssembly.Memory({ initial: memoryPlan.initialPages, maximum: memoryPlan.maximumPages });
      for (const segment of memoryPlan.segments) new Uint8Array((stubs.outpost.memory as WebAssembly.Memory).buffer).set(segment.bytes, segment.offset);
      return new WebAssembly.Instance(module, stubs as WebAssembly.Imports);
    };
    const pooled = () => {
      const memory = memories.take();
      stubs.outpost.memory = memory;
      new WebAssembly.Instance(module, stubs as WebAssembly.Imports);
      memories.give(memory);
    };
    return { ok: true, summary: await sample(layer === "instance" ? fresh : pooled, budgetMs), imports, bytes: bytes.byteLength };
  }

  const tracker = new CpuTracker(new SharedArrayBuffer(WATCHDOG_BYTES));
  const errors: string[] = [];
  const linker = new Linker(tracker, (_s, call, error) => errors.push(`${call}: ${String(error)}`));
  const plan = linker.plan(module, "error");
  let rid = 1;

  const instances = new GuestInstances(module, plan, linker, tracker, memoryPlan);
  if (layer === "bind") {
    const bind = () => instances.release(instances.acquire(new Session(rid++, head, null, info, service, stubLink)));
    return { ok: true, summary: await sample(bind, budgetMs), imports, bytes: bytes.byteLength };
  }

  // As runtime/engine/worker-entry.ts runs a request.
  let responded = 0;
  const link: HostLink = { ...stubLink, respond: () => void responded++ };
  const run = () => runGuest(instances, new Session(rid++, head, null, info, service, link), tracker);
  await run();
  if (responded !== 1 || errors.length > 0) {
    return { ok: false, error: `the guest did not respond in the benchmark's replica of a worker run${errors.length ? `: ${errors.join("; ")}` : ""}` };
  }
  return { ok: true, summary: await sample(run, budgetMs), imports, bytes: bytes.byteLength };
}

// A pending WebAssembly.compile does not always keep the event loop alive
// (seen here: the thread exited in the middle of compiling the js-compute module).
const keepAlive = setInterval(() => {}, 60_000);
measure(workerData as LayerJob)
  .catch((error: unknown): LayerResult => ({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }))
  .then((result) => {
    clearInterval(keepAlive);
    parentPort!.postMessage(result);
  });
