// Compiles WebAssembly text fixtures with wabt (the real toolchain, from npm).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";

const wabt = await wabtInit();

/** `features`: wabt feature flags beyond multi-value and bulk memory (reference_types, simd, ...). */
export function wat(source: string, name = "fixture.wat", features: Record<string, boolean> = {}): Uint8Array {
  const module = wabt.parseWat(name, source, { multi_value: true, bulk_memory: true, ...features });
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

export const FIXTURES = join(import.meta.dirname, "../fixtures");

/** A WAT fixture from test/fixtures/wat, compiled. */
export function watFixture(name: string): Uint8Array {
  return wat(readFileSync(join(FIXTURES, "wat", `${name}.wat`), "utf8"), `${name}.wat`);
}
