// The project's machine-readable ABI description: every host function a guest
// may import, with its core-wasm parameters. Generated from the witx by
// `node scripts/gen-abi.ts`; `test/abi/signatures.test.ts` checks it.
import signatures from "./signatures.json" with { type: "json" };

/** [name, wasm type] or, for result out-pointers, [name, "i32", bytes written]. */
export type AbiParam = [name: string, type: "i32" | "i64", outBytes?: number];
export type AbiModule = Record<string, AbiParam[]>;

export const ABI: Record<string, AbiModule> = signatures as unknown as Record<string, AbiModule>;

export function abiFunction(module: string, name: string): AbiParam[] | undefined {
  return Object.hasOwn(ABI, module) && Object.hasOwn(ABI[module], name) ? ABI[module][name] : undefined;
}
