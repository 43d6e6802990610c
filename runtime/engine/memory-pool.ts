// Linear memories for one module's instances, reused from request to
// request. A memory comes out of the pool reset to the module's initial
// image: every byte of its initial size is rewritten (zeros, then the data
// segments), so nothing a previous request wrote can be seen. A memory that
// grew is never reused: its size alone would tell the next request something.
import type { MemoryPlan } from "./memory-image.ts";

const PAGE = 65536;
/** Memories kept per module per worker; more than this many at once are allocated and left to the GC. */
const MAX_POOLED = 32;

export class MemoryPool {
  private readonly plan: MemoryPlan;
  private readonly free: WebAssembly.Memory[] = [];
  private readonly initialBytes: number;
  /**
   * The whole initial memory, built once: one copy of it resets a memory,
   * where applying thousands of small segments one by one costs far more
   * (a js-compute module has 10,000).
   */
  private readonly image: Uint8Array;

  constructor(plan: MemoryPlan) {
    this.plan = plan;
    this.initialBytes = plan.initialPages * PAGE;
    this.image = new Uint8Array(this.initialBytes);
    for (const segment of plan.segments) this.image.set(segment.bytes, segment.offset);
  }

  /** A memory in the module's initial state. */
  take(): WebAssembly.Memory {
    const memory =
      this.free.pop() ?? new WebAssembly.Memory({ initial: this.plan.initialPages, maximum: this.plan.maximumPages });
    this.reset(memory);
    return memory;
  }

  /** Takes a memory back after its request; one that grew is dropped. */
  give(memory: WebAssembly.Memory): void {
    if (!this.fits(memory) || this.free.length >= MAX_POOLED) return;
    this.free.push(memory);
  }

  /** Whether the memory still has its initial size (it did not grow), so that a reset restores it entirely. */
  fits(memory: WebAssembly.Memory): boolean {
    return memory.buffer.byteLength === this.initialBytes;
  }

  /** Rewrites every byte of a memory of the initial size with the initial image. */
  reset(memory: WebAssembly.Memory): void {
    new Uint8Array(memory.buffer).set(this.image);
  }
}
