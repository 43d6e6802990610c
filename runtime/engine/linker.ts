// Builds each instance's imports: the guest's imports resolved against the
// host modules, every function bound to that instance's slot, which holds
// the session of the request the instance is serving.
//
// Linking is planned once per module (which imports, which implementation,
// sync or suspending) and binding happens once per instance: an instance
// that is reset and reused serves the next request through the same
// imports, with the next session in its slot.
import { ABI, abiFunction } from "../abi/signatures.ts";
import { HostError, Status } from "../abi/status.ts";
import { type HostFn, isSuspending } from "../hostcalls/host-module.ts";
import { HOST_MODULES, WASI_MODULE } from "../hostcalls/index.ts";
import { wasiErrno } from "../hostcalls/wasi.ts";
import type { Session } from "../session/session.ts";
import type { CpuTracker } from "./cpu-tracker.ts";
import { LimitExceeded, ProcExit } from "./guest-abort.ts";
import { MEMORY_IMPORT } from "./memory-image.ts";

export type UnknownImportPolicy = "error" | "trap";

export class LinkError extends Error {}

/** What an instance's imports read on every call: the request it serves now, and its memory. */
export interface SessionSlot {
  s: Session;
  /** The memory the instance imports, when its module's memory is pooled (memory-image.ts). */
  memory: WebAssembly.Memory | null;
}

interface PlannedImport {
  module: string;
  name: string;
  bind: (slot: SessionSlot) => unknown;
}

export interface ImportPlan {
  imports: PlannedImport[];
  /**
   * Whether the module imports a host call that may suspend it. One that
   * does not can never suspend, so it runs without JSPI's secondary stack
   * (which V8 allocates for every promising call).
   */
  suspends: boolean;
}

/** Whether the host knows an import: an ABI function or a WASI one. */
export function isKnownImport(module: string, name: string): boolean {
  if (module === WASI_MODULE) return Object.hasOwn(HOST_MODULES[WASI_MODULE], name);
  return abiFunction(module, name) !== undefined;
}

/** The memory import a module gets when its memory is pooled (memory-image.ts). */
function isPooledMemory(entry: WebAssembly.ModuleImportDescriptor): boolean {
  return entry.kind === "memory" && entry.module === MEMORY_IMPORT.module && entry.name === MEMORY_IMPORT.name;
}

/** Checks a module's imports; returns the names of the unknown ones. */
export function unknownImports(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.imports(module)
    .filter((entry) => !isPooledMemory(entry))
    .filter((entry) => entry.kind !== "function" || !isKnownImport(entry.module, entry.name))
    .map((entry) => `${entry.module}::${entry.name}${entry.kind === "function" ? "" : ` (${entry.kind})`}`);
}

/** Reports host bugs (errors that are neither a status nor a guest abort). */
export type HostBugReporter = (s: Session, call: string, error: unknown) => void;

export class Linker {
  private readonly tracker: CpuTracker;
  private readonly reportBug: HostBugReporter;

  constructor(tracker: CpuTracker, reportBug: HostBugReporter) {
    this.tracker = tracker;
    this.reportBug = reportBug;
  }

  plan(module: WebAssembly.Module, policy: UnknownImportPolicy): ImportPlan {
    const unknown = unknownImports(module);
    if (unknown.length > 0 && policy === "error") {
      throw new LinkError(`the module imports functions this host does not provide: ${unknown.join(", ")}`);
    }
    let suspends = false;
    const imports = WebAssembly.Module.imports(module).map((entry): PlannedImport => {
      if (isPooledMemory(entry)) return { module: entry.module, name: entry.name, bind: (slot) => slot.memory };
      const call = `${entry.module}::${entry.name}`;
      if (!isKnownImport(entry.module, entry.name) || entry.kind !== "function") {
        return { module: entry.module, name: entry.name, bind: () => trapUnknown(call) };
      }
      const impl = HOST_MODULES[entry.module]?.[entry.name];
      if (!impl) return { module: entry.module, name: entry.name, bind: bindUnsupported };
      const toCode = entry.module === WASI_MODULE ? wasiErrno : (error: HostError) => error.status;
      if (isSuspending(impl)) suspends = true;
      const bind = isSuspending(impl) ? this.suspendingBinder(impl, call, toCode) : this.syncBinder(impl, call, toCode);
      return { module: entry.module, name: entry.name, bind };
    });
    return { imports, suspends };
  }

  /** The import object for one instance. */
  imports(plan: ImportPlan, slot: SessionSlot): WebAssembly.Imports {
    const out: Record<string, Record<string, unknown>> = {};
    for (const entry of plan.imports) (out[entry.module] ??= {})[entry.name] = entry.bind(slot);
    return out as WebAssembly.Imports;
  }

  /** Turns what a host call threw into the status (or errno) the guest gets, or rethrows to trap. */
  private failure(s: Session, call: string, error: unknown, toCode: (e: HostError) => number): number {
    if (error instanceof HostError) return toCode(error);
    if (error instanceof LimitExceeded || error instanceof ProcExit) throw error;
    this.reportBug(s, call, error);
    return toCode(new HostError(Status.ERROR));
  }

  private syncBinder(impl: HostFn, call: string, toCode: (e: HostError) => number) {
    return (slot: SessionSlot) =>
      (...args: unknown[]) => {
        const s = slot.s;
        s.checkLimits();
        try {
          return impl(s, ...args);
        } catch (error) {
          return this.failure(s, call, error, toCode);
        }
      };
  }

  private suspendingBinder(impl: HostFn, call: string, toCode: (e: HostError) => number) {
    const tracker = this.tracker;
    return (slot: SessionSlot) =>
      new WebAssembly.Suspending((...args: unknown[]) => {
        const s = slot.s;
        s.checkLimits();
        let result: number | Promise<number>;
        try {
          result = impl(s, ...args);
        } catch (error) {
          return this.failure(s, call, error, toCode);
        }
        if (typeof result === "number") return result;
        // The guest suspends here. Each settle handler runs in the reaction that
        // settles the promise JSPI resumes on, so resumes are announced in order.
        tracker.stopped(s);
        return Promise.race([result, s.abortSignal]).then(
          (value) => {
            tracker.resumeScheduled(s);
            if (s.cpuUsedMs > s.service.limits.cpuMs) {
              throw new LimitExceeded("cpu", `guest exceeded its CPU time limit of ${s.service.limits.cpuMs} ms`);
            }
            return value;
          },
          (error: unknown) => {
            tracker.resumeScheduled(s);
            return this.failure(s, call, error, toCode);
          },
        );
      });
  }
}

function bindUnsupported(slot: SessionSlot) {
  return () => {
    slot.s.checkLimits();
    return Status.UNSUPPORTED;
  };
}

function trapUnknown(call: string) {
  return () => {
    throw new WebAssembly.RuntimeError(`called ${call}, which this host does not provide`);
  };
}

/** Every ABI function name, for documentation and tests. */
export function abiFunctionNames(): [module: string, name: string][] {
  return Object.entries(ABI).flatMap(([module, fns]) => Object.keys(fns).map((name): [string, string] => [module, name]));
}
