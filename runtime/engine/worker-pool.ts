// The guest worker threads, sized to the machine's cores, and the watchdog
// that stops a worker whose guest ran past its CPU limit without yielding.
// A stopped worker is replaced at once and told every loaded module.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { now, WATCHDOG_BYTES } from "./cpu-tracker.ts";
import { applyGuestStackSize } from "./guest-stack.ts";
import type { UnknownImportPolicy } from "./linker.ts";
import type { MemoryPlan } from "./memory-image.ts";
import { MessageBatch } from "./message-batch.ts";
import type { MainToWorker, ServiceInfo, WorkerToMain } from "./protocol.ts";
import type { WorkerData } from "./worker-entry.ts";

/** How far past its CPU budget a guest that makes no host calls may run before its worker is stopped. */
const WATCHDOG_GRACE_MS = 20;
const WATCHDOG_INTERVAL_MS = 10;
/** A worker whose current guest has run this long is not given new requests while others are free. */
const BUSY_SLICE_MS = 10;

export class GuestWorker {
  readonly thread: Worker;
  readonly id: number;
  /** Requests running on this worker. */
  readonly running = new Set<number>();
  /** What the worker's CpuTracker publishes: see WATCHDOG_BYTES. */
  private readonly slots: Float64Array;
  private readonly runningRid: Int32Array;
  /** The worker thread's kernel task id, to read its CPU time; null until known or where unavailable. */
  tid: number | null = null;
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private failStart!: (error: Error) => void;
  started = false;
  alive = true;

  constructor(id: number, unknownImports: UnknownImportPolicy) {
    this.id = id;
    const watchdog = new SharedArrayBuffer(WATCHDOG_BYTES);
    this.slots = new Float64Array(watchdog, 0, 4);
    this.runningRid = new Int32Array(watchdog, 32, 1);
    this.runningRid[0] = -1;
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failStart = reject;
    });
    this.ready.catch(() => {}); // reported through WorkerPool.ready()
    const data: WorkerData = { watchdog, unknownImports };
    this.thread = new Worker(new URL("./worker-entry.ts", import.meta.url), { workerData: data });
    this.outbox = new MessageBatch(this.thread);
  }

  /** Messages to the worker, sent in batches (message-batch.ts). */
  private readonly outbox: MessageBatch<MainToWorker>;

  onReady(tid: number | null): void {
    this.tid = tid;
    this.started = true;
    this.markReady();
  }

  onStartFailed(error: Error): void {
    this.failStart(error);
  }

  post(message: MainToWorker, transfer?: ArrayBuffer[]): void {
    if (this.alive) this.outbox.post(message, transfer);
  }

  /**
   * The request whose guest has run past its CPU budget without yielding, if
   * any. The wall clock says when to look; the thread's own CPU time decides,
   * so a guest is not blamed for time the thread spent descheduled.
   */
  overdue(at: number): number | null {
    const deadline = this.slots[0];
    if (deadline === 0 || at < deadline + WATCHDOG_GRACE_MS) return null;
    const rid = Atomics.load(this.runningRid, 0);
    const cpu = this.tid === null ? null : threadCpuMsOf(this.tid);
    if (cpu !== null && cpu - this.slots[2] < this.slots[3] + WATCHDOG_GRACE_MS) return null;
    // The slot may have moved on while we looked; blame only a guest still running.
    return this.slots[0] === deadline ? rid : null;
  }

  busy(at: number): boolean {
    return this.slots[0] !== 0 && at - this.slots[1] > BUSY_SLICE_MS;
  }
}

/** CPU time of a thread of this process, from the kernel's scheduler statistics (Linux). */
function threadCpuMsOf(tid: number): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "latin1").split(" ")[0]) / 1e6;
  } catch {
    return null;
  }
}

export interface WorkerPoolEvents {
  message(worker: GuestWorker, message: WorkerToMain): void;
  /** A worker was stopped or died; `culprit` is the request blamed, if known. */
  lost(worker: GuestWorker, culprit: number | null, reason: string): void;
}

export class WorkerPool {
  private readonly workers: GuestWorker[] = [];
  private readonly modules = new Map<string, { module: WebAssembly.Module; service: ServiceInfo; memory: MemoryPlan | null }>();
  private readonly events: WorkerPoolEvents;
  private readonly unknownImports: UnknownImportPolicy;
  private readonly watchdog: NodeJS.Timeout;
  private nextWorkerId = 1;
  private closed = false;

  constructor(size: number | undefined, unknownImports: UnknownImportPolicy, events: WorkerPoolEvents) {
    applyGuestStackSize();
    this.events = events;
    this.unknownImports = unknownImports;
    const count = Math.max(1, size ?? availableParallelism());
    for (let i = 0; i < count; i++) this.workers.push(this.spawn());
    this.watchdog = setInterval(() => this.checkDeadlines(), WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }

  get size(): number {
    return this.workers.length;
  }

  /** Resolves once every worker has started. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.ready));
  }

  private spawn(): GuestWorker {
    const worker = new GuestWorker(this.nextWorkerId++, this.unknownImports);
    worker.thread.on("message", (batch: WorkerToMain[]) => {
      for (const message of batch) {
        if (message.t === "ready") worker.onReady(message.tid);
        else this.events.message(worker, message);
      }
    });
    worker.thread.on("error", (error: Error) => {
      // A worker that cannot even start would fail again if replaced: report it instead.
      if (!worker.started) {
        worker.alive = false;
        worker.onStartFailed(new Error(`a guest worker failed to start: ${error.stack ?? error.message}`));
        return;
      }
      this.replace(worker, null, `worker crashed: ${error.message}`);
    });
    worker.thread.on("exit", (code) => {
      if (!worker.started) worker.onStartFailed(new Error(`a guest worker exited with code ${code} while starting`));
      else if (worker.alive && !this.closed) this.replace(worker, null, `worker exited with code ${code}`);
    });
    for (const [moduleId, { module, service, memory }] of this.modules) worker.post({ t: "load", moduleId, module, service, memory });
    return worker;
  }

  load(moduleId: string, module: WebAssembly.Module, service: ServiceInfo, memory: MemoryPlan | null = null): void {
    this.modules.set(moduleId, { module, service, memory });
    for (const worker of this.workers) worker.post({ t: "load", moduleId, module, service, memory });
  }

  /** Replaces a loaded module's service data; requests already running keep theirs. */
  updateService(moduleId: string, service: ServiceInfo): void {
    const loaded = this.modules.get(moduleId);
    if (!loaded) return;
    loaded.service = service;
    for (const worker of this.workers) worker.post({ t: "service", moduleId, service });
  }

  unload(moduleId: string): void {
    this.modules.delete(moduleId);
    for (const worker of this.workers) worker.post({ t: "unload", moduleId });
  }

  /** The least-loaded worker, preferring those whose guest is not in a long run of CPU. */
  pick(): GuestWorker {
    const at = now();
    let best: GuestWorker | null = null;
    for (const worker of this.workers) {
      if (!worker.alive) continue;
      const better =
        best === null ||
        (best.busy(at) && !worker.busy(at)) ||
        (best.busy(at) === worker.busy(at) && worker.running.size < best.running.size);
      if (better) best = worker;
    }
    return best ?? this.workers[0];
  }

  private checkDeadlines(): void {
    const at = now();
    for (const worker of this.workers) {
      if (!worker.alive) continue;
      const culprit = worker.overdue(at);
      if (culprit !== null) this.replace(worker, culprit, "CPU time limit exceeded");
    }
  }

  /** Stops a worker and puts a fresh one in its place. */
  private replace(worker: GuestWorker, culprit: number | null, reason: string): void {
    if (!worker.alive || this.closed) return;
    worker.alive = false;
    void worker.thread.terminate();
    const index = this.workers.indexOf(worker);
    if (index >= 0) this.workers[index] = this.spawn();
    this.events.lost(worker, culprit, reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(
      this.workers.map((worker) => {
        worker.alive = false;
        return worker.thread.terminate();
      }),
    );
  }
}
