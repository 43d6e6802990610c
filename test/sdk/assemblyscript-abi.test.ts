// The AssemblyScript SDK's raw host-call declarations (sdk/assemblyscript/assembly/abi)
// are generated from the ABI description and must stay current.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ABI } from "../../runtime/abi/signatures.ts";
import { fileFor, renderAll } from "../../scripts/gen-assemblyscript-abi.ts";
import { ROOT } from "../helpers/toolchains.ts";

const DIR = join(ROOT, "sdk/assemblyscript/assembly/abi");
const REFERENCE = new URL("../../../shared/abi/abi-signatures.json", import.meta.url);

/** `module::name` → its declared parameter types, read back from the generated files. */
function declared(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of readdirSync(DIR)) {
    const text = readFileSync(join(DIR, file), "utf8");
    for (const match of text.matchAll(/@external\("(\w+)", "(\w+)"\)\nexport declare function \w+\(([^)]*)\): u32;/g)) {
      const params = match[3] ? match[3].split(", ").map((param) => param.split(": ")[1]) : [];
      out.set(`${match[1]}::${match[2]}`, params);
    }
  }
  return out;
}

describe("AssemblyScript SDK: raw host calls", () => {
  it("are current (regenerate with node scripts/gen-assemblyscript-abi.ts)", () => {
    const files = renderAll();
    expect(readdirSync(DIR).sort()).toEqual([...files.keys()].sort());
    for (const [file, text] of files) expect(readFileSync(join(DIR, file), "utf8"), file).toBe(text);
  });

  it("declare every function of the ABI, one file per module", () => {
    const all = declared();
    expect(all.size).toBe(251);
    for (const [module, fns] of Object.entries(ABI)) {
      expect(existsSync(join(DIR, fileFor(module)))).toBe(true);
      for (const [name, params] of Object.entries(fns)) expect(all.get(`${module}::${name}`)?.length, `${module}::${name}`).toBe(params.length);
    }
  });

  it.skipIf(!existsSync(REFERENCE))("type exactly the witx pointers as usize", () => {
    const reference = JSON.parse(readFileSync(REFERENCE, "utf8")) as Record<string, Record<string, { params: [string, string, string][] }>>;
    const all = declared();
    for (const [module, fns] of Object.entries(reference)) {
      for (const [name, { params }] of Object.entries(fns)) {
        const expected = params.map(([, type, note]) => (type === "i64" ? "u64" : /pointer|OUT ptr|^string$|^list/i.test(note) ? "usize" : "u32"));
        expect(all.get(`${module}::${name}`), `${module}::${name}`).toEqual(expected);
      }
    }
  });
});
