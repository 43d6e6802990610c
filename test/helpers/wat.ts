// Compiles WebAssembly text fixtures with wabt (the real toolchain, from npm).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import wabtInit from "wabt";

const wabt = await wabtInit();

export function wat(source: string, name = "fixture.wat"): Uint8Array {
  const module = wabt.parseWat(name, source, { multi_value: true, bulk_memory: true });
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
