// Per-request limits on guests, with the production platform's defaults
// (https://docs.fastly.com/products/compute-resource-limits).
import type { GuestLimits } from "../engine/protocol.ts";

export const DEFAULT_LIMITS: GuestLimits = {
  memoryBytes: 128 * 1024 * 1024,
  cpuMs: 50,
  wallMs: 120_000,
};
