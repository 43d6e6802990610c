// Reads every instruction of a module's functions to learn whether its code
// can change instance state that lives outside memory and globals: the
// contents of its tables (`table.set`, `table.grow`, ...) and which passive
// data segments are dropped (`data.drop`). An instance whose code does
// neither can be returned to its initial state by restoring its memory and
// its globals alone (runtime/engine/instance-pool.ts).
//
// An instruction this decoder does not know (GC, stringref, a future
// proposal) makes the answer "unknown": such a module is simply never reset.
//
// Binary format: https://webassembly.github.io/spec/core/binary/instructions.html
import { readUleb, sections } from "./wasm-binary.ts";

const SECTION_CODE = 10;

export interface CodeScan {
  /** Some instruction writes a table (table.set/grow/fill/copy/init). */
  writesTables: boolean;
  /** Some instruction drops a data segment. */
  dropsData: boolean;
  /** Why the code could not be read to the end (an opcode this decoder does not know), or null. */
  unknown: string | null;
}

class Reader {
  readonly bytes: Uint8Array;
  at: number;
  constructor(bytes: Uint8Array, start: number) {
    this.bytes = bytes;
    this.at = start;
  }

  byte(): number {
    return this.bytes[this.at++];
  }

  /** Skips a LEB128 integer, signed or not (only its length matters here). */
  skipLeb(): void {
    while (this.bytes[this.at++] & 0x80);
  }

  uleb(): number {
    const [value, next] = readUleb(this.bytes, this.at);
    this.at = next;
    return value;
  }

  skip(n: number): void {
    this.at += n;
  }

  /** A memarg: alignment (bit 6 announces a memory index) and offset. */
  memarg(): void {
    const align = this.uleb();
    if (align & 0x40) this.skipLeb();
    this.skipLeb();
  }

  /** A heap type: an abstract type (one negative byte) or a type index. */
  heapType(): void {
    this.skipLeb();
  }

  /** A value type: one byte, or a reference type with its heap type. */
  valType(): void {
    const b = this.byte();
    if (b === 0x63 || b === 0x64) this.heapType();
  }

  /** A block type: empty, a value type, or a type index (s33). */
  blockType(): void {
    const b = this.byte();
    if (b === 0x63 || b === 0x64) this.heapType();
    else if (b & 0x80) this.skipLeb();
  }
}

/**
 * Decodes every function body, noting what writes state an instance reset
 * cannot restore; gives the event loop a turn every `sliceMs` of work: a
 * js-compute module takes ~130 ms to decode, which would otherwise stall
 * every request the process serves meanwhile (a `serve --watch` reload).
 */
export async function scanCodeInSlices(bytes: Uint8Array, sliceMs = 5): Promise<CodeScan> {
  const steps = scanSteps(bytes);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** How many function bodies the scan decodes between two chances to pause. */
const FUNCTIONS_PER_STEP = 64;

function* scanSteps(bytes: Uint8Array): Generator<void, CodeScan> {
  const scan: CodeScan = { writesTables: false, dropsData: false, unknown: null };
  const code = sections(bytes).find((s) => s.id === SECTION_CODE);
  if (!code) return scan;
  const r = new Reader(bytes, code.contentStart);
  const count = r.uleb();
  for (let f = 0; f < count; f++) {
    if (f % FUNCTIONS_PER_STEP === FUNCTIONS_PER_STEP - 1) yield;
    const size = r.uleb();
    const end = r.at + size;
    const groups = r.uleb();
    for (let g = 0; g < groups; g++) {
      r.skipLeb();
      r.valType();
    }
    while (r.at < end) {
      const problem = instruction(r, scan);
      if (problem) {
        scan.unknown = `${problem} in function ${f} of the code section`;
        return scan;
      }
    }
    // Decoding must end exactly where the body does; anything else means a misread.
    if (r.at !== end) {
      scan.unknown = `function ${f} did not decode to its end`;
      return scan;
    }
  }
  return scan;
}

/** Decodes one instruction, noting state writes; returns a description of an unknown one. */
function instruction(r: Reader, scan: CodeScan): string | null {
  const op = r.byte();
  switch (op) {
    case 0x02: // block
    case 0x03: // loop
    case 0x04: // if
    case 0x06: // try
      r.blockType();
      return null;
    case 0x07: // catch
    case 0x08: // throw
    case 0x09: // rethrow
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x12: // return_call
    case 0x14: // call_ref
    case 0x15: // return_call_ref
    case 0x18: // delegate
    case 0xd2: // ref.func
    case 0xd5: // br_on_null
    case 0xd6: // br_on_non_null
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
      r.skipLeb();
      return null;
    case 0x26: // table.set
      scan.writesTables = true;
      r.skipLeb();
      return null;
    case 0x0e: {
      // br_table
      const n = r.uleb();
      for (let i = 0; i <= n; i++) r.skipLeb();
      return null;
    }
    case 0x11: // call_indirect
    case 0x13: // return_call_indirect
      r.skipLeb();
      r.skipLeb();
      return null;
    case 0x1c: {
      // select with types
      const n = r.uleb();
      for (let i = 0; i < n; i++) r.valType();
      return null;
    }
    case 0x1f: {
      // try_table: block type, then catch clauses (kind, [tag], label)
      r.blockType();
      const n = r.uleb();
      for (let i = 0; i < n; i++) {
        const kind = r.byte();
        if (kind < 2) r.skipLeb();
        r.skipLeb();
      }
      return null;
    }
    case 0x3f: // memory.size
    case 0x40: // memory.grow
      r.skipLeb();
      return null;
    case 0x41: // i32.const
    case 0x42: // i64.const
      r.skipLeb();
      return null;
    case 0x43: // f32.const
      r.skip(4);
      return null;
    case 0x44: // f64.const
      r.skip(8);
      return null;
    case 0xd0: // ref.null
      r.heapType();
      return null;
    case 0xfc:
      return miscInstruction(r, scan);
    case 0xfd:
      return simdInstruction(r);
    case 0xfe:
      return atomicInstruction(r);
  }
  // Loads and stores.
  if (op >= 0x28 && op <= 0x3e) {
    r.memarg();
    return null;
  }
  // No immediates: control without operands, parametric, numeric, sign extension, references.
  if (op <= 0x01 || op === 0x05 || op === 0x0a || op === 0x0b || op === 0x0f || op === 0x19 || op === 0x1a || op === 0x1b) return null;
  if ((op >= 0x45 && op <= 0xc4) || op === 0xd1 || op === 0xd3 || op === 0xd4) return null;
  return `opcode 0x${op.toString(16)}`;
}

/** The 0xFC prefix: saturating truncation, bulk memory, tables. */
function miscInstruction(r: Reader, scan: CodeScan): string | null {
  const sub = r.uleb();
  if (sub <= 7) return null; // trunc_sat
  switch (sub) {
    case 8: // memory.init
      r.skipLeb();
      r.skipLeb();
      return null;
    case 9: // data.drop
      scan.dropsData = true;
      r.skipLeb();
      return null;
    case 10: // memory.copy
      r.skipLeb();
      r.skipLeb();
      return null;
    case 11: // memory.fill
    case 13: // elem.drop (only table.init reads dropped element segments)
    case 16: // table.size
      r.skipLeb();
      return null;
    case 12: // table.init
    case 14: // table.copy
      scan.writesTables = true;
      r.skipLeb();
      r.skipLeb();
      return null;
    case 15: // table.grow
    case 17: // table.fill
      scan.writesTables = true;
      r.skipLeb();
      return null;
  }
  return `opcode 0xfc ${sub}`;
}

/** The 0xFD prefix: 128-bit SIMD (and relaxed SIMD). */
function simdInstruction(r: Reader): string | null {
  const sub = r.uleb();
  if (sub <= 11 || sub === 92 || sub === 93) r.memarg(); // loads, splats, store, load-zero
  else if (sub === 12 || sub === 13) r.skip(16); // v128.const, i8x16.shuffle
  else if (sub >= 21 && sub <= 34) r.skip(1); // extract/replace lane
  else if (sub >= 84 && sub <= 91) {
    r.memarg(); // load/store lane
    r.skip(1);
  } else if (sub > 0x113) return `opcode 0xfd ${sub}`;
  return null;
}

/** The 0xFE prefix: atomics. */
function atomicInstruction(r: Reader): string | null {
  const sub = r.uleb();
  if (sub === 3) {
    r.skip(1); // atomic.fence
    return null;
  }
  if (sub <= 2 || (sub >= 0x10 && sub <= 0x4e)) {
    r.memarg();
    return null;
  }
  return `opcode 0xfe ${sub}`;
}
