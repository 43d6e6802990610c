// `fastly_async_io`: waiting on any of several bodies and pending requests.
import { HostError, SELECT_TIMEOUT, Status } from "../abi/status.ts";
import { Body } from "../session/body.ts";
import type { AsyncItem, Session } from "../session/session.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** Ready: a pending request has its response; a body can be read without waiting (or written, when streaming). */
function isReady(item: AsyncItem): boolean {
  if (item instanceof Body) return item.isStreaming || item.ready;
  return item.done;
}

/** A promise that settles when the item may have become ready. */
function whenReady(s: Session, item: AsyncItem): Promise<unknown> {
  if (item instanceof Body) return item.prefetch(s.link) ?? Promise.resolve();
  return item.promise;
}

export const fastlyAsyncIo: HostModule = {
  is_ready(s, h, out) {
    const item = s.asyncItems.get(h);
    const ready = isReady(item);
    if (!ready && item instanceof Body) void item.prefetch(s.link);
    s.mem.u32(out, ready ? 1 : 0);
    return Status.OK;
  },

  select: suspending((s: Session, hsPtr: number, hsLen: number, timeoutMs: number, out: number) => {
    const handles = s.mem.readU32List(hsPtr, hsLen);
    const items = handles.map((handle) => s.asyncItems.get(handle));
    s.mem.u32(out, 0); // check the out-pointer before waiting
    if (items.length === 0 && timeoutMs === 0) throw new HostError(Status.INVAL, "select over nothing, forever");
    const answer = (index: number): number => {
      s.mem.u32(out, index >= 0 ? index : SELECT_TIMEOUT);
      return Status.OK;
    };
    const ready = items.findIndex(isReady);
    if (ready >= 0) return answer(ready);
    const deadline = timeoutMs > 0 ? Date.now() + (timeoutMs >>> 0) : Infinity;
    const wait = async (): Promise<number> => {
      for (;;) {
        const index = items.findIndex(isReady);
        const remaining = deadline - Date.now();
        if (index >= 0 || remaining <= 0) return answer(index);
        let timer: NodeJS.Timeout | undefined;
        const waits = items.map((item) => whenReady(s, item));
        if (deadline !== Infinity) waits.push(new Promise((resolve) => (timer = setTimeout(resolve, remaining))));
        await Promise.race(waits);
        clearTimeout(timer);
      }
    };
    return wait();
  }),
};
