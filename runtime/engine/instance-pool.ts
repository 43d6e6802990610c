// One module's instances on one worker thread. Each request gets an instance
// in the module's initial state, in the cheapest way its module allows:
//
// - reused: an instance that served an earlier request, reset in place: its
//   memory rewritten to the initial image and its mutable globals set back
//   to their initial values (instance-reset.ts explains why that is all of
//   its state). Binding imports and building the trampoline happen once.
// - pooled memory: a new instance over a pooled memory reset to the image
//   (memory-pool.ts), when the module's code could change other state.
// - new: a new instance with a memory V8 allocates, when the module's
//   memory is not of the shape pooling needs.
//
// Whatever the way, a request never sees a byte, a global or a memory size
// left by another.
import type { CpuTracker } from "./cpu-tracker.ts";
import type { ImportPlan, Linker, SessionSlot } from "./linker.ts";
import type { MemoryPlan } from "./memory-image.ts";
import { MemoryPool } from "./memory-pool.ts";
import type { Session } from "../session/session.ts";
import { trampolineBytes } from "./wasm-binary.ts";

const trampoline = new WebAssembly.Module(trampolineBytes());
/** Idle instances kept per module per worker; more than this many running at once are created and then dropped. */
const MAX_IDLE = 32;

export interface GuestInstance {
  readonly slot: SessionSlot;
  readonly memory: WebAssembly.Memory;
  /** Runs the guest's `_start` through the trampoline: suspendable (JSPI) when the module can suspend. */
  readonly run: () => Promise<void> | void;
  /** The mutable globals and their values when the instance was new (reused instances only). */
  readonly globals: readonly WebAssembly.Global[];
  readonly initialGlobals: readonly unknown[];
}

export class GuestInstances {
  private readonly module: WebAssembly.Module;
  private readonly plan: ImportPlan;
  private readonly linker: Linker;
  private readonly tracker: CpuTracker;
  private readonly memories: MemoryPool | null;
  private readonly globalNames: readonly string[] | null;
  private readonly idle: GuestInstance[] = [];
  /** Instances created, and requests served by a reused one: for tests and metrics. */
  created = 0;
  reused = 0;

  constructor(module: WebAssembly.Module, plan: ImportPlan, linker: Linker, tracker: CpuTracker, memory: MemoryPlan | null) {
    this.module = module;
    this.plan = plan;
    this.linker = linker;
    this.tracker = tracker;
    this.memories = memory ? new MemoryPool(memory) : null;
    this.globalNames = memory?.reuse?.globals ?? null;
  }


  /** An instance in the initial state, serving `s`. */
  acquire(s: Session): GuestInstance {
    const idle = this.idle.pop();
    if (idle) {
      idle.slot.s = s;
      this.reused++;
      return idle;
    }
    return this.create(s);
  }

  /**
   * Takes an instance back once its run, and everything the run left going,
   * has ended (nothing can touch its memory any more).
   */
  release(instance: GuestInstance): void {
    const memory = instance.slot.memory;
    // The session is over: let it go rather than keep it alive in an idle instance.
    (instance.slot as { s: Session | null }).s = null;
    if (!memory || !this.memories) return;
    if (!this.globalNames) {
      this.memories.give(memory);
      return;
    }
    // A grown memory cannot shrink back, and its size alone would tell the next request something.
    if (!this.memories.fits(memory) || this.idle.length >= MAX_IDLE) return;
    this.memories.reset(memory);
    for (let i = 0; i < instance.globals.length; i++) instance.globals[i].value = instance.initialGlobals[i];
    this.idle.push(instance);
  }

  private create(s: Session): GuestInstance {
    const slot: SessionSlot = { s, memory: this.memories?.take() ?? null };
    const instance = new WebAssembly.Instance(this.module, this.linker.imports(this.plan, slot));
    const tracker = this.tracker;
    const entry = new WebAssembly.Instance(trampoline, {
      outpost: {
        start: instance.exports._start,
        // Runs the moment `_start` returns, before any other guest resumes.
        finished: () => {
          const current = slot.s;
          current.finished = true;
          tracker.stopped(current);
        },
      },
    });
    const globals = (this.globalNames ?? []).map((name) => instance.exports[name] as WebAssembly.Global);
    this.created++;
    return {
      slot,
      memory: instance.exports.memory as WebAssembly.Memory,
      run: this.plan.suspends ? (WebAssembly.promising(entry.exports.run as () => void) as () => Promise<void>) : (entry.exports.run as () => void),
      globals,
      initialGlobals: globals.map((global) => global.value),
    };
  }
}
