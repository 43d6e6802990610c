// Loading a guest module: check that it is a core Wasm module the host can
// run, cap its memory at the limit, compile it once (by content hash), and
// check its exports and imports — with a clear message for each fault.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { unknownImports, type UnknownImportPolicy } from "./linker.ts";
import { planInstanceReuse } from "./instance-reset.ts";
import { importMemory, type MemoryPlan } from "./memory-image.ts";
import { binaryKind, capMemory, ModuleFormatError, WASM_PAGE_SIZE } from "./wasm-binary.ts";

export class ModuleError extends Error {}

export interface LoadedModule {
  /** SHA-256 of the original bytes, with the memory limit: the compile cache key. */
  id: string;
  module: WebAssembly.Module;
  /** Size of the original file. */
  size: number;
  /** Imports the host does not provide (linked as traps under the "trap" policy). */
  unknownImports: string[];
  /** How to reset pooled memories (and, with `reuse`, whole instances) for this module, or null when V8 allocates them (see memory-image.ts). */
  memory: MemoryPlan | null;
}

const compiled = new Map<string, LoadedModule>();

export function readModuleFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new ModuleError(`${path}: no such file. Build the project first (\`outpost build\`) or pass --file PATH.`);
    }
    throw new ModuleError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

export async function loadModule(
  bytes: Uint8Array,
  options: { memoryBytes: number; unknownImports: UnknownImportPolicy; name?: string },
): Promise<LoadedModule> {
  const name = options.name ?? "module";
  const id = createHash("sha256").update(bytes).update(`:${options.memoryBytes}`).digest("hex");
  const cached = compiled.get(id);
  if (cached) return checkImports(cached, options.unknownImports, name);

  const kind = binaryKind(bytes);
  if (kind === "not-wasm") throw new ModuleError(`${name}: not a WebAssembly file (it does not start with "\\0asm")`);
  if (kind === "component") {
    throw new ModuleError(`${name}: this is a WebAssembly component; Outpost runs core modules (wasm32-wasi preview 1) for now`);
  }
  let prepared: Uint8Array<ArrayBuffer>;
  let memory: MemoryPlan | null = null;
  try {
    // Each rewrite of a large module takes tens of milliseconds: the event loop gets a turn between them.
    prepared = capMemory(bytes as Uint8Array<ArrayBuffer>, Math.floor(options.memoryBytes / WASM_PAGE_SIZE)).bytes;
    await nextTurn();
    const imported = importMemory(prepared);
    await nextTurn();
    if (imported) {
      [prepared, memory] = [imported.bytes, imported.plan];
      const { reuse } = await planInstanceReuse(prepared, memory);
      if (reuse) [prepared, memory.reuse] = [reuse.bytes, reuse.plan];
    }
  } catch (error) {
    if (error instanceof ModuleFormatError) throw new ModuleError(`${name}: ${error.message}`);
    throw error;
  }
  let module: WebAssembly.Module;
  try {
    module = await compileEagerly(prepared);
  } catch (error) {
    throw new ModuleError(`${name}: invalid WebAssembly: ${(error as Error).message.replace(/^WebAssembly\.compile\(\): /, "")}`);
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === "_start" && e.kind === "function")) {
    throw new ModuleError(`${name}: the module exports no "_start" function; build it as a WASI command (wasm32-wasi executable)`);
  }
  if (!exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    throw new ModuleError(`${name}: the module exports no "memory"; host calls need the guest's linear memory`);
  }
  const loaded: LoadedModule = { id, module, size: bytes.byteLength, unknownImports: unknownImports(module), memory };
  compiled.set(id, loaded);
  return checkImports(loaded, options.unknownImports, name);
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Drops a module from the compile cache (a build `serve --watch` has replaced). */
export function forgetModule(id: string): void {
  compiled.delete(id);
}

function checkImports(loaded: LoadedModule, policy: UnknownImportPolicy, name: string): LoadedModule {
  if (loaded.unknownImports.length > 0 && policy === "error") {
    throw new ModuleError(
      `${name}: imports functions this host does not provide: ${loaded.unknownImports.join(", ")} ` +
        `(use --unknown-imports trap to run it anyway; those calls then trap)`,
    );
  }
  return loaded;
}

/**
 * Compiles every function up front. V8 otherwise compiles each Wasm function
 * on its first call, which would land inside the first requests' CPU time
 * (tens of milliseconds for a js-compute module) and trip the CPU limit.
 * Optimised tiers are still compiled in the background for hot functions.
 */
let eagerFlagSet = false;
async function compileEagerly(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  if (!eagerFlagSet) {
    setFlagsFromString("--no-wasm-lazy-compilation");
    eagerFlagSet = true;
  }
  // V8's background compile jobs do not keep Node's event loop alive on their own.
  const keepAlive = setInterval(() => {}, 1_000);
  try {
    return await WebAssembly.compile(bytes);
  } finally {
    clearInterval(keepAlive);
  }
}
