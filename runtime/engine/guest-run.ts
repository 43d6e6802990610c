// Running one request's guest: an instance in the module's initial state
// (instance-pool.ts) serving the request's session, entered through the
// trampoline with JSPI.
import { flushOutput } from "../hostcalls/wasi.ts";
import type { Session } from "../session/session.ts";
import type { CpuTracker } from "./cpu-tracker.ts";
import { LimitExceeded, outcomeOf } from "./guest-abort.ts";
import { GuestMemory } from "./guest-memory.ts";
import type { GuestInstance, GuestInstances } from "./instance-pool.ts";
import type { GuestOutcome } from "./protocol.ts";

/** Runs the guest to its end (and what it left running in the background); never throws. */
export async function runGuest(instances: GuestInstances, s: Session, tracker: CpuTracker): Promise<GuestOutcome> {
  let outcome: GuestOutcome = { kind: "ok" };
  let instance: GuestInstance | null = null;
  try {
    instance = instances.acquire(s);
    s.mem = new GuestMemory(instance.memory);
    tracker.started(s);
    await instance.run();
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
  // Nothing of this run may touch the instance's memory from now on: it can serve the next request.
  s.mem?.revoke();
  if (instance) instances.release(instance);
  return outcome;
}

/** The instance's memory could not be allocated (the process is short of address space or memory). */
function isMemoryFailure(error: unknown): boolean {
  return error instanceof RangeError && /memory/i.test(error.message);
}
