// Decides, once per module, whether its instances can be reset and reused
// instead of created anew for each request. An instance's whole state is
// its memory, its globals, its tables and which segments it dropped; the
// host can restore the first two (memory imported: memory-image.ts; mutable
// globals exported: global-exports.ts), so reuse needs code that never
// writes a table and never drops a passive data segment it could read again.
// A reset instance is then indistinguishable from a new one.
import { exportMutableGlobals } from "./global-exports.ts";
import type { InstanceReuse, MemoryPlan } from "./memory-image.ts";
import { scanCodeInSlices } from "./wasm-code-scan.ts";

export interface ReusePlan {
  /** The module rewritten to export its mutable globals, and how to reset instances; or null. */
  reuse: { bytes: Uint8Array<ArrayBuffer>; plan: InstanceReuse } | null;
  /** Why instances of this module are not reused, for the docs and the log. */
  why: string | null;
}

/**
 * `bytes`: the module with its memory already imported (`memory` is its plan).
 * Asynchronous because the code scan pauses to let the event loop run.
 */
export async function planInstanceReuse(bytes: Uint8Array<ArrayBuffer>, memory: MemoryPlan): Promise<ReusePlan> {
  const scan = await scanCodeInSlices(bytes);
  if (scan.unknown) return { reuse: null, why: `its code could not be checked (${scan.unknown})` };
  if (scan.writesTables) return { reuse: null, why: "its code writes tables" };
  if (scan.dropsData && memory.passiveData) return { reuse: null, why: "its code drops passive data segments" };
  const exported = exportMutableGlobals(bytes);
  if (!exported) return { reuse: null, why: "a mutable global cannot be restored from JavaScript" };
  return { reuse: { bytes: exported.bytes, plan: { globals: exported.globals } }, why: null };
}
