// The "erl" host service: the main-thread side of `fastly_erl`
// (runtime/hostcalls/erl.ts). Rate counters and penalty boxes live here, in
// one place for every worker, so that concurrent requests count together.
// The host call has checked the arguments; values go back as the ABI's u32s.
import type { EdgeRateLimits } from "../stores/rate-limit.ts";
import type { HostService } from "./host-services.ts";

const U32_MAX = 0xffffffff;

function u32(value: number): number {
  return Math.min(U32_MAX, Math.floor(value));
}

export function erlService(limits: EdgeRateLimits): HostService {
  return {
    checkRate: (_context, counter: string, entry: string, delta: number, window: number, limit: number, box: string, minutes: number): number =>
      limits.checkRate(counter, entry, delta, window, limit, box, minutes) ? 1 : 0,
    increment: (_context, counter: string, entry: string, delta: number): void => limits.increment(counter, entry, delta),
    lookupRate: (_context, counter: string, entry: string, window: number): number => u32(limits.rate(counter, entry, window)),
    lookupCount: (_context, counter: string, entry: string, duration: number): number => u32(limits.count(counter, entry, duration)),
    penaltyAdd: (_context, box: string, entry: string, minutes: number): void => limits.penalize(box, entry, minutes),
    penaltyHas: (_context, box: string, entry: string): number => (limits.isPenalized(box, entry) ? 1 : 0),
  };
}
