// A guest worker thread: receives compiled modules and requests from the
// main thread and runs each request in an instance in its initial state. Many instances run
// interleaved on this thread, each suspended (JSPI) while it waits.
import { parentPort, workerData } from "node:worker_threads";
import { Session } from "../session/session.ts";
import { CpuTracker, threadId } from "./cpu-tracker.ts";
import { LimitExceeded } from "./guest-abort.ts";
import { runGuest } from "./guest-run.ts";
import { GuestInstances } from "./instance-pool.ts";
import { Linker, type UnknownImportPolicy } from "./linker.ts";
import { MessageBatch } from "./message-batch.ts";
import type { MainToWorker, ServiceInfo, WorkerToMain } from "./protocol.ts";
import { WorkerLink } from "./worker-link.ts";

export interface WorkerData {
  watchdog: SharedArrayBuffer;
  unknownImports: UnknownImportPolicy;
}

interface LoadedGuest {
  service: ServiceInfo;
  /** The module's instances on this thread: reused, or created per request (instance-pool.ts). */
  instances: GuestInstances;
}

const port = parentPort!;
const { watchdog, unknownImports } = workerData as WorkerData;
const tracker = new CpuTracker(watchdog);
/** Messages to the main thread, sent in batches (message-batch.ts). */
const outbox = new MessageBatch<WorkerToMain>(port);
const link = new WorkerLink(outbox);
const linker = new Linker(tracker, (s, call, error) => {
  link.log(s.rid, "stderr", `host error in ${call}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
});
const guests = new Map<string, LoadedGuest>();
/** Running sessions (one may serve several requests in turn: reusable sandboxes). */
const sessions = new Set<Session>();

async function run(message: Extract<MainToWorker, { t: "run" }>): Promise<void> {
  const guest = guests.get(message.moduleId);
  if (!guest) {
    link.done(message.rid, { kind: "trap", message: `module ${message.moduleId} is not loaded` }, 0);
    return;
  }
  const s = new Session(message.rid, message.head, message.body, message.info, guest.service, link);
  s.moduleId = message.moduleId;
  sessions.add(s);
  const outcome = await runGuest(guest.instances, s, tracker);
  sessions.delete(s);
  // A reusable sandbox whose last wait found no request has reported its last one already.
  if (!s.reported) link.done(s.rid, outcome, s.cpuUsedMs);
}

port.on("message", (batch: MainToWorker[]) => {
  for (const message of batch) handle(message);
});

function handle(message: MainToWorker): void {
  if (link.receive(message)) return;
  switch (message.t) {
    case "load":
      guests.set(message.moduleId, {
        service: message.service,
        instances: new GuestInstances(message.module, linker.plan(message.module, unknownImports), linker, tracker, message.memory),
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
      for (const s of sessions) if (s.rid === message.rid && !s.reported) s.abort(new LimitExceeded(message.limit, message.message));
      break;
  }
}

outbox.post({ t: "ready", tid: threadId() });
