// The shape of a host-call implementation. Each ABI module is one file in
// this folder exporting a `HostModule`: plain functions that take the
// session first and the guest's arguments after, and return a status.
import type { Session } from "../session/session.ts";

// Guest arguments are numbers (i32) or bigints (i64); each function names its own.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HostFn = (s: Session, ...args: any[]) => number | Promise<number>;

export type HostModule = Record<string, HostFn>;

const SUSPENDING = new WeakSet<HostFn>();

/**
 * Marks a host call that may wait (for an origin, a body, a timer). It may
 * still return a number at once; when it returns a promise the guest is
 * suspended (JSPI) and other guests on the thread run meanwhile.
 */
export function suspending<F extends HostFn>(fn: F): F {
  SUSPENDING.add(fn);
  return fn;
}

export function isSuspending(fn: HostFn): boolean {
  return SUSPENDING.has(fn);
}
