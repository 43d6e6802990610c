// `fastly_erl`: edge rate limiting. Counters and penalty boxes are shared by
// every request, so each call goes to the main thread's "erl" service
// (runtime/server/erl-service.ts, semantics in runtime/stores/rate-limit.ts).
// Arguments are checked here first, so that a call answering `inval` has
// changed nothing: a rate window is 1, 10 or 60 seconds, a count duration
// 10 to 60 seconds in steps of 10, a penalty TTL 1 to 60 minutes (passed in
// seconds, truncated to the minute), an entry at most 256 bytes.
import { HostError, Status } from "../abi/status.ts";
import type { Session } from "../session/session.ts";
import { isCountDuration, isRateWindow, MAX_ENTRY_BYTES, penaltyMinutes } from "../stores/rate-limit.ts";
import { type HostModule, suspending } from "./host-module.ts";

function entryOf(s: Session, ptr: number, len: number): string {
  const entry = s.mem.string(ptr, len);
  if (len >>> 0 > MAX_ENTRY_BYTES) throw new HostError(Status.INVAL, `an entry is at most ${MAX_ENTRY_BYTES} bytes, not ${len >>> 0}`);
  return entry;
}

function windowOf(window: number): number {
  if (!isRateWindow(window >>> 0)) throw new HostError(Status.INVAL, `a rate window is 1, 10 or 60 seconds, not ${window >>> 0}`);
  return window >>> 0;
}

function minutesOf(ttl: number): number {
  const minutes = penaltyMinutes(ttl >>> 0);
  if (minutes === null) throw new HostError(Status.INVAL, `a penalty TTL is 60 to 3600 seconds (1 to 60 minutes), not ${ttl >>> 0}`);
  return minutes;
}

/** Checks a u32 out-pointer before the call has any effect. */
function outPointer(s: Session, ptr: number): number {
  s.mem.u32(ptr, 0);
  return ptr;
}

function erl(s: Session, method: string, ...args: unknown[]): Promise<unknown> {
  return s.link.invoke(s.rid, "erl", method, args);
}

export const fastlyErl: HostModule = {
  check_rate: suspending(
    (s: Session, rcPtr: number, rcLen: number, entryPtr: number, entryLen: number, delta: number, window: number, limit: number, pbPtr: number, pbLen: number, ttl: number, blockedOut: number) => {
      const counter = s.mem.string(rcPtr, rcLen);
      const entry = entryOf(s, entryPtr, entryLen);
      const box = s.mem.string(pbPtr, pbLen);
      const args = [counter, entry, delta >>> 0, windowOf(window), limit >>> 0, box, minutesOf(ttl)];
      const out = outPointer(s, blockedOut);
      return erl(s, "checkRate", ...args).then((blocked) => {
        s.mem.u32(out, blocked as number);
        return Status.OK;
      });
    },
  ),

  ratecounter_increment: suspending((s: Session, rcPtr: number, rcLen: number, entryPtr: number, entryLen: number, delta: number) => {
    const counter = s.mem.string(rcPtr, rcLen);
    const entry = entryOf(s, entryPtr, entryLen);
    return erl(s, "increment", counter, entry, delta >>> 0).then(() => Status.OK);
  }),

  ratecounter_lookup_rate: suspending((s: Session, rcPtr: number, rcLen: number, entryPtr: number, entryLen: number, window: number, rateOut: number) => {
    const counter = s.mem.string(rcPtr, rcLen);
    const entry = entryOf(s, entryPtr, entryLen);
    const args = [counter, entry, windowOf(window)];
    const out = outPointer(s, rateOut);
    return erl(s, "lookupRate", ...args).then((rate) => {
      s.mem.u32(out, rate as number);
      return Status.OK;
    });
  }),

  ratecounter_lookup_count: suspending((s: Session, rcPtr: number, rcLen: number, entryPtr: number, entryLen: number, duration: number, countOut: number) => {
    const counter = s.mem.string(rcPtr, rcLen);
    const entry = entryOf(s, entryPtr, entryLen);
    if (!isCountDuration(duration >>> 0)) {
      throw new HostError(Status.INVAL, `a count duration is 10, 20, 30, 40, 50 or 60 seconds, not ${duration >>> 0}`);
    }
    const out = outPointer(s, countOut);
    return erl(s, "lookupCount", counter, entry, duration >>> 0).then((count) => {
      s.mem.u32(out, count as number);
      return Status.OK;
    });
  }),

  penaltybox_add: suspending((s: Session, pbPtr: number, pbLen: number, entryPtr: number, entryLen: number, ttl: number) => {
    const box = s.mem.string(pbPtr, pbLen);
    const entry = entryOf(s, entryPtr, entryLen);
    return erl(s, "penaltyAdd", box, entry, minutesOf(ttl)).then(() => Status.OK);
  }),

  penaltybox_has: suspending((s: Session, pbPtr: number, pbLen: number, entryPtr: number, entryLen: number, hasOut: number) => {
    const box = s.mem.string(pbPtr, pbLen);
    const entry = entryOf(s, entryPtr, entryLen);
    const out = outPointer(s, hasOut);
    return erl(s, "penaltyHas", box, entry).then((has) => {
      s.mem.u32(out, has as number);
      return Status.OK;
    });
  }),
};
