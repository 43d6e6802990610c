// Generates runtime/abi/signatures.json from the witx definition of the ABI.
//
//   node scripts/gen-abi.ts [WITX_DIR]     (default: ../shared/abi/witx)
//
// The witx is lowered to core-wasm signatures with the "preview1" rules the
// production host uses: strings and lists become (ptr, len); 64-bit integers
// are i64; records passed by value become a pointer; each value of an
// `(expected T (error $fastly_status))` result becomes a trailing out-pointer.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

type SExpr = string | SExpr[];

function parseSExprs(text: string): SExpr[] {
  const tokens = text
    .replace(/;[^\n]*/g, " ")
    .replace(/([()])/g, " $1 ")
    .split(/\s+/)
    .filter(Boolean);
  let pos = 0;
  const read = (): SExpr => {
    const token = tokens[pos++];
    if (token !== "(") return token.replace(/^"(.*)"$/, "$1");
    const list: SExpr[] = [];
    while (tokens[pos] !== ")") list.push(read());
    pos++;
    return list;
  };
  const out: SExpr[] = [];
  while (pos < tokens.length) out.push(read());
  return out;
}

interface Param {
  name: string;
  type: "i32" | "i64";
  /** For out-pointers appended by the lowering: the byte width written there. */
  outBytes?: number;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const witxDir = resolve(process.argv[2] ?? join(root, "../shared/abi/witx"));
const typenames = new Map<string, SExpr>();
const modules: Record<string, Record<string, Param[]>> = {};

function load(file: string) {
  for (const form of parseSExprs(readFileSync(join(witxDir, file), "utf8"))) {
    if (!Array.isArray(form)) continue;
    const [head, ...rest] = form;
    if (head === "use") load(rest[0] as string);
    else if (head === "typename") typenames.set(rest[0] as string, rest[1]);
    else if (head === "module") defineModule(rest);
  }
}

function resolveType(type: SExpr): SExpr {
  while (typeof type === "string" && typenames.has(type)) type = typenames.get(type)!;
  return type;
}

const SIZES: Record<string, number> = { u8: 1, s8: 1, char8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };

/** Byte width of a value written through an out-pointer. */
function sizeOf(type: SExpr): number {
  const t = resolveType(type);
  if (typeof t === "string") return SIZES[t] ?? 4;
  if (t[0] === "@witx") return t[1] === "usize" ? 4 : 4;
  if (t[0] === "enum" || t[0] === "flags") {
    const repr = t[1];
    return Array.isArray(repr) ? (SIZES[repr[2] as string] ?? 4) : 4;
  }
  return 4; // handles and pointers
}

function lowerParam(name: string, type: SExpr): Param[] {
  const t = resolveType(type);
  if (t === "string" || (Array.isArray(t) && t[0] === "list")) {
    return [
      { name: `${name}_ptr`, type: "i32" },
      { name: `${name}_len`, type: "i32" },
    ];
  }
  if (t === "u64" || t === "s64") return [{ name, type: "i64" }];
  return [{ name, type: "i32" }];
}

function defineModule([name, ...items]: SExpr[]) {
  const fns: Record<string, Param[]> = {};
  for (const item of items) {
    if (!Array.isArray(item) || item[0] !== "@interface") continue;
    const exportName = (item[2] as SExpr[])[1] as string;
    const params: Param[] = [];
    for (const part of item.slice(3) as SExpr[][]) {
      if (part[0] === "param") params.push(...lowerParam(strip(part[1] as string), part[2]));
      if (part[0] === "result") params.push(...lowerResult(part[2]));
    }
    fns[exportName] = params;
  }
  modules[strip(name as string)] = fns;
}

function lowerResult(type: SExpr): Param[] {
  const t = resolveType(type);
  if (!Array.isArray(t) || t[0] !== "expected" || (Array.isArray(t[1]) && t[1][0] === "error")) {
    return [];
  }
  const ok = resolveType(t[1]);
  const values = Array.isArray(ok) && ok[0] === "tuple" ? ok.slice(1) : [t[1]];
  return values.map((value) => ({
    name: `${strip(String(value))}_out`,
    type: "i32" as const,
    outBytes: sizeOf(value),
  }));
}

const strip = (name: string) => name.replace(/^\$/, "");

load("compute-at-edge.witx");
const out = join(root, "runtime/abi/signatures.json");
const sorted = Object.fromEntries(Object.entries(modules).sort(([a], [b]) => a.localeCompare(b)));
// One line per function keeps the file readable and its diffs small.
const lines = Object.entries(sorted).map(([module, fns]) => {
  const body = Object.entries(fns).map(([fn, params]) => {
    const list = params.map((p) => JSON.stringify(p.outBytes ? [p.name, p.type, p.outBytes] : [p.name, p.type]));
    return `    ${JSON.stringify(fn)}: [${list.join(", ")}]`;
  });
  return `  ${JSON.stringify(module)}: {\n${body.join(",\n")}\n  }`;
});
writeFileSync(out, `{\n${lines.join(",\n")}\n}\n`);
const count = Object.values(modules).reduce((n, fns) => n + Object.keys(fns).length, 0);
console.log(`wrote ${out}: ${Object.keys(modules).length} modules, ${count} functions`);
