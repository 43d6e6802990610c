// The clock. AssemblyScript's `Date.now()` imports `env.Date.now`, which only
// a JavaScript host provides; these read the WASI clocks instead.
import { OUT } from "./io";

@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(id: u32, precision: u64, time: usize): u16;

const REALTIME: u32 = 0;
const MONOTONIC: u32 = 1;

/** Milliseconds since the Unix epoch (like `Date.now()`). */
export function now(): i64 {
  clock_time_get(REALTIME, 1_000_000, OUT);
  return <i64>(load<u64>(OUT) / 1_000_000);
}

/** Nanoseconds from an arbitrary start, never going back: for measuring durations. */
export function monotonicNanos(): u64 {
  clock_time_get(MONOTONIC, 1, OUT);
  return load<u64>(OUT);
}
