// Running one request's guest: a fresh instance of the module, bound to the
// request's session, entered through the trampoline with JSPI.
import { flushOutput } from "../hostcalls/wasi.ts";
import type { Session } from "../session/session.ts";
import type { CpuTracker } from "./cpu-tracker.ts";
import { LimitExceeded, outcomeOf } from "./guest-abort.ts";
import { GuestMemory } from "./guest-memory.ts";
import type { ImportPlan, Linker } from "./linker.ts";
import type { MemoryPool } from "./memory-pool.ts";
import type { GuestOutcome } from "./protocol.ts";
import { trampolineBytes } from "./wasm-binary.ts";

const trampoline = new WebAssembly.Module(trampolineBytes());

/** Runs the guest to its end (and what it left running in the background); never throws. */
export async function runGuest(
  module: WebAssembly.Module,
  plan: ImportPlan,
  s: Session,
  linker: Linker,
  tracker: CpuTracker,
  memories: MemoryPool | null = null,
): Promise<GuestOutcome> {
  let outcome: GuestOutcome = { kind: "ok" };
  try {
    s.pooledMemory = memories?.take() ?? null;
    const instance = new WebAssembly.Instance(module, linker.imports(plan, s));
    s.mem = new GuestMemory(instance.exports.memory as WebAssembly.Memory);
    const entry = new WebAssembly.Instance(trampoline, {
      outpost: {
        start: instance.exports._start,
        // Runs the moment `_start` returns, before any other guest resumes.
        finished: () => {
          s.finished = true;
          tracker.stopped(s);
        },
      },
    });
    const start = WebAssembly.promising(entry.exports.run as () => void);
    tracker.started(s);
    await start();
  } catch (error) {
    outcome = outcomeOf(isMemoryFailure(error) ? new LimitExceeded("memory", (error as Error).message) : error);
  } finally {
    if (!s.finished) {
      s.finished = true;
      tracker.stopped(s);
    }
  }
  flushOutput(s);
  await Promise.allSettled(s.background);
  // Nothing runs in the instance any more: its memory can serve the next request.
  if (s.pooledMemory) memories?.give(s.pooledMemory);
  return outcome;
}

/** The instance's memory could not be allocated (the process is short of address space or memory). */
function isMemoryFailure(error: unknown): boolean {
  return error instanceof RangeError && /memory/i.test(error.message);
}
