// A guest worker thread: receives compiled modules and requests from the
// main thread and runs each request in a fresh instance. Many instances run
// interleaved on this thread, each suspended (JSPI) while it waits.
import { parentPort, workerData } from "node:worker_threads";
import { Session } from "../session/session.ts";
import { CpuTracker, threadId } from "./cpu-tracker.ts";
import { LimitExceeded } from "./guest-abort.ts";
import { runGuest } from "./guest-run.ts";
import { MemoryPool } from "./memory-pool.ts";
import { type ImportPlan, Linker, type UnknownImportPolicy } from "./linker.ts";
import type { MainToWorker, ServiceInfo } from "./protocol.ts";
import { WorkerLink } from "./worker-link.ts";

export interface WorkerData {
  watchdog: SharedArrayBuffer;
  unknownImports: UnknownImportPolicy;
}

interface LoadedGuest {
  module: WebAssembly.Module;
  plan: ImportPlan;
  service: ServiceInfo;
  /** Reused memories, when the module's memory is pooled. */
  memories: MemoryPool | null;
}

const port = parentPort!;
const { watchdog, unknownImports } = workerData as WorkerData;
const tracker = new CpuTracker(watchdog);
const link = new WorkerLink(port);
const linker = new Linker(tracker, (s, call, error) => {
  link.log(s.rid, "stderr", `host error in ${call}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
});
const guests = new Map<string, LoadedGuest>();
const sessions = new Map<number, Session>();

async function run(message: Extract<MainToWorker, { t: "run" }>): Promise<void> {
  const guest = guests.get(message.moduleId);
  if (!guest) {
    link.done(message.rid, { kind: "trap", message: `module ${message.moduleId} is not loaded` }, 0);
    return;
  }
  const s = new Session(message.rid, message.head, message.body, message.info, guest.service, link);
  sessions.set(s.rid, s);
  const outcome = await runGuest(guest.module, guest.plan, s, linker, tracker, guest.memories);
  sessions.delete(s.rid);
  link.done(s.rid, outcome, s.cpuUsedMs);
}

port.on("message", (message: MainToWorker) => {
  if (link.receive(message)) return;
  switch (message.t) {
    case "load":
      guests.set(message.moduleId, {
        module: message.module,
        plan: linker.plan(message.module, unknownImports),
        service: message.service,
        memories: message.memory ? new MemoryPool(message.memory) : null,
      });
      break;
    case "unload":
      guests.delete(message.moduleId);
      break;
    case "service": {
      // Running sessions keep the service info they started with: each request
      // sees one consistent version of the service's data.
      const guest = guests.get(message.moduleId);
      if (guest) guest.service = message.service;
      break;
    }
    case "run":
      void run(message);
      break;
    case "abort":
      sessions.get(message.rid)?.abort(new LimitExceeded(message.limit, message.message));
      break;
  }
});

port.postMessage({ t: "ready", tid: threadId() });
