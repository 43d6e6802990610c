// Checks a built or packaged Wasm binary the way the platform would before
// running it: a core module (not a component), valid, a WASI command that
// exports `_start` and `memory`, importing nothing but ABI and WASI
// functions. Each fault is a UserError that names it and the fix.
import { unknownImports } from "../../runtime/engine/linker.ts";
import { binaryKind } from "../../runtime/engine/wasm-binary.ts";
import { UserError } from "../user-error.ts";

export interface WasmSummary {
  size: number;
  /** How many functions it imports from the ABI and from WASI. */
  imports: number;
}

export async function checkWasm(bytes: Uint8Array, name: string): Promise<WasmSummary> {
  switch (binaryKind(bytes)) {
    case "not-wasm":
      throw new UserError(
        `${name} is not a WebAssembly module (it does not start with "\\0asm"): ` +
          `make the build write a .wasm binary to bin/main.wasm (or pass the right file with --wasm-binary)`,
      );
    case "component":
      throw new UserError(
        `${name} is a WebAssembly component, not a core module: ` +
          `build for wasm32-wasi (WASI preview 1) without componentizing it`,
      );
    case "module":
      break;
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    const reason = (error as Error).message.replace(/^WebAssembly\.compile\(\): /, "");
    throw new UserError(`${name} is not valid WebAssembly (${reason}): rebuild it; the file may be truncated or corrupt`);
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === "_start" && e.kind === "function")) {
    throw new UserError(
      `${name} exports no "_start" function: build it as a WASI command (an executable with a main function, ` +
        `target wasm32-wasi), not as a library or reactor`,
    );
  }
  if (!exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    throw new UserError(`${name} exports no "memory": host calls need the guest's linear memory; do not import memory, export it (the default for wasm32-wasi)`);
  }
  const unknown = unknownImports(module);
  if (unknown.length > 0) {
    throw new UserError(
      `${name} imports ${unknown.length === 1 ? "a function" : "functions"} the Fastly Compute ABI does not have: ` +
        `${unknown.join(", ")}: remove ${unknown.length === 1 ? "that call" : "those calls"} or build with an SDK that targets this ABI`,
    );
  }
  return { size: bytes.byteLength, imports: WebAssembly.Module.imports(module).length };
}

/** "12.3 KiB (12,602 bytes)" */
export function formatSize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const short = unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
  return unit === 0 ? short : `${short} (${bytes.toLocaleString("en-US")} bytes)`;
}
