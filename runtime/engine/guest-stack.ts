// The native stack a guest runs on. JSPI gives every call through
// `WebAssembly.promising` a stack of its own, which V8 maps and unmaps for
// each request: with its default of 984 KiB that mapping is about a sixth of
// a small guest's whole per-request cost on its worker thread. 512 KiB is
// wasmtime's default maximum Wasm stack, which guests get from the
// reference emulator, so a guest that fits there fits here.
import { setFlagsFromString } from "node:v8";

export const GUEST_STACK_KIB = 512;

let applied = false;

/** Sets the size of guests' stacks for the whole process (V8 flags are process-wide); before any worker starts. */
export function applyGuestStackSize(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString(`--wasm-stack-switching-stack-size=${GUEST_STACK_KIB}`);
}
