// Tracks which guest is running on this worker thread and for how long, so
// that each guest's CPU time is accounted and the main thread's watchdog can
// tell which request to blame when a worker stops responding.
//
// Guests interleave on one thread: one runs until it suspends in a host
// call (JSPI), then the next resumes. Resumptions happen in the order their
// promises settle, which is the order `resumeScheduled` is called in (each
// call is made in the reaction that settles the promise the guest waits on),
// so a FIFO of scheduled resumptions predicts who runs next.
import type { Session } from "../session/session.ts";

/**
 * Shared with the main thread's watchdog: the running guest's CPU deadline
 * (ms since the epoch, 0 when idle), when its current slice began, and its
 * request id.
 */
export const WATCHDOG_BYTES = 24;

export function now(): number {
  return performance.timeOrigin + performance.now();
}

export class CpuTracker {
  private readonly deadline: Float64Array;
  private readonly sliceStart: Float64Array;
  private readonly runningRid: Int32Array;
  /** A guest entered synchronously (a new request), running right now. */
  private direct: Session | null = null;
  /** Guests whose resumption is queued, in the order they will run. */
  private readonly queue: Session[] = [];

  constructor(shared: SharedArrayBuffer) {
    this.deadline = new Float64Array(shared, 0, 1);
    this.sliceStart = new Float64Array(shared, 8, 1);
    this.runningRid = new Int32Array(shared, 16, 1);
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
    if (session.sliceStart > 0) {
      session.cpuUsedMs += now() - session.sliceStart;
      session.sliceStart = 0;
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

  private label(session: Session): void {
    const t = now();
    if (session.sliceStart === 0) session.sliceStart = t;
    session.cpuDeadline = session.sliceStart + session.service.limits.cpuMs - session.cpuUsedMs;
    Atomics.store(this.runningRid, 0, session.rid);
    this.sliceStart[0] = session.sliceStart;
    this.deadline[0] = session.cpuDeadline;
  }

  private idle(): void {
    this.deadline[0] = 0;
    Atomics.store(this.runningRid, 0, -1);
  }
}
