// Tracks which guest is running on this worker thread and how much CPU it
// has used, so that each guest's CPU time is accounted and the main thread's
// watchdog can tell which request to blame when a worker stops responding.
//
// CPU time is the thread's own (`process.threadCpuUsage`), so time the thread
// spends descheduled on a busy machine is not charged to the guest.
//
// Guests interleave on one thread: one runs until it suspends in a host
// call (JSPI), then the next resumes. Resumptions happen in the order their
// promises settle, which is the order `resumeScheduled` is called in (each
// call is made in the reaction that settles the promise the guest waits on),
// so a FIFO of scheduled resumptions predicts who runs next.
import { readlinkSync } from "node:fs";
import type { Session } from "../session/session.ts";

/**
 * Shared with the main thread's watchdog (see `SliceView` in worker-pool.ts).
 * Float64 slots: 0 the wall-clock time the running guest's budget would run
 * out at full speed (0 when idle), 1 when its slice began (wall clock),
 * 2 the thread's CPU time then, 3 the CPU budget it had left; Int32 at byte
 * 32: its request id.
 */
export const WATCHDOG_BYTES = 40;

export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** CPU time this thread has used, in milliseconds. */
export function threadCpuMs(): number {
  const usage = process.threadCpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** This thread's kernel task id (Linux), so the main thread can read its CPU time; null elsewhere. */
export function threadId(): number | null {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").pop()) || null;
  } catch {
    return null;
  }
}

export class CpuTracker {
  private readonly slots: Float64Array;
  private readonly runningRid: Int32Array;
  /** A guest entered synchronously (a new request), running right now. */
  private direct: Session | null = null;
  /** Guests whose resumption is queued, in the order they will run. */
  private readonly queue: Session[] = [];

  constructor(shared: SharedArrayBuffer) {
    this.slots = new Float64Array(shared, 0, 4);
    this.runningRid = new Int32Array(shared, 32, 1);
  }

  /** A guest is entered synchronously (its `_start`). */
  started(session: Session): void {
    this.direct = session;
    this.label(session);
  }

  /** The promise a suspended guest waits on has settled: it will resume in turn. */
  resumeScheduled(session: Session): void {
    if (session.finished) return;
    this.queue.push(session);
    if (this.direct === null && this.queue.length === 1) this.label(session);
  }

  /** The guest suspended in a host call, or finished. */
  stopped(session: Session): void {
    if (session.sliceStartCpu >= 0) {
      session.cpuUsedMs += threadCpuMs() - session.sliceStartCpu;
      session.sliceStartCpu = -1;
    }
    if (this.direct === session) {
      this.direct = null;
    } else {
      const index = this.queue.indexOf(session);
      if (index >= 0) this.queue.splice(index, 1);
    }
    const next = this.direct ?? this.queue[0];
    if (next) this.label(next);
    else this.idle();
  }

  /** CPU the guest has used so far, including its current slice. */
  static used(session: Session): number {
    return session.cpuUsedMs + (session.sliceStartCpu >= 0 ? threadCpuMs() - session.sliceStartCpu : 0);
  }

  private label(session: Session): void {
    if (session.sliceStartCpu < 0) session.sliceStartCpu = threadCpuMs();
    const wall = now();
    const remaining = session.service.limits.cpuMs - session.cpuUsedMs;
    Atomics.store(this.runningRid, 0, session.rid);
    this.slots[1] = wall;
    this.slots[2] = session.sliceStartCpu;
    this.slots[3] = remaining;
    this.slots[0] = wall + remaining;
  }

  private idle(): void {
    this.slots[0] = 0;
    Atomics.store(this.runningRid, 0, -1);
  }
}
