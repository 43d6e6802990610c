// Per-request limits on guests. Memory and wall time are the production
// platform's (https://docs.fastly.com/products/compute-resource-limits).
// CPU time is not: production allows 50 ms of vCPU, but V8 runs the same
// guest (notably js-compute's JavaScript interpreter) several times slower
// than the production engine, and charges garbage collection to it, so the
// default leaves ten times that. `--cpu-ms 50` enforces production's figure.
import type { GuestLimits } from "../engine/protocol.ts";

export const DEFAULT_LIMITS: GuestLimits = {
  memoryBytes: 128 * 1024 * 1024,
  cpuMs: 500,
  wallMs: 120_000,
};

/** Production's vCPU limit per request. */
export const PRODUCTION_CPU_MS = 50;
