// Rewrites a module so that the host can read and restore its mutable
// globals: each global the module defines as mutable is also exported under
// a name of the host's (`outpost:global:<index>`). With its memory imported
// (memory-image.ts), that makes the whole state of an instance reachable, so
// an instance can be put back exactly as it was when it was created
// (instance-pool.ts).
//
// Binary format: https://webassembly.github.io/spec/core/binary/modules.html
import { encodeSection, joinBytes, readUleb, sections, uleb } from "./wasm-binary.ts";

const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const KIND_GLOBAL = 0x03;
const V128 = 0x7b;
/** Where each known section goes in a module: the tag section (13) sits before globals, data count (12) before code. */
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
const comesAfterExports = (id: number) => SECTION_ORDER.indexOf(id) > SECTION_ORDER.indexOf(SECTION_EXPORT);

/** The export name under which the host finds a mutable global. */
export function globalExportName(index: number): string {
  return `outpost:global:${index}`;
}

/**
 * The module with its mutable globals exported, and their export names; or
 * null when a global cannot be restored from JavaScript (a mutable v128) or
 * the sections are of a shape this does not read.
 */
export function exportMutableGlobals(bytes: Uint8Array<ArrayBuffer>): { bytes: Uint8Array<ArrayBuffer>; globals: string[] } | null {
  const all = sections(bytes);
  const imported = importedGlobals(bytes, all.find((s) => s.id === SECTION_IMPORT));
  if (imported === null) return null;
  const mutable = mutableGlobals(bytes, all.find((s) => s.id === SECTION_GLOBAL));
  if (mutable === null) return null;
  if (mutable.length === 0) return { bytes, globals: [] };

  const names = mutable.map((i) => globalExportName(imported + i));
  const added: number[] = [];
  for (const [n, i] of mutable.entries()) {
    const encoded = [...new TextEncoder().encode(names[n])];
    added.push(...uleb(encoded.length), ...encoded, KIND_GLOBAL, ...uleb(imported + i));
  }
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let written = false;
  for (const s of all) {
    if (s.id === SECTION_EXPORT) {
      const [count, start] = readUleb(bytes, s.contentStart);
      parts.push(encodeSection(SECTION_EXPORT, [...uleb(count + mutable.length), ...bytes.subarray(start, s.end), ...added]));
      written = true;
      continue;
    }
    // Without an export section of its own, the module gets one in its place (after globals, before start/elements/code).
    if (!written && comesAfterExports(s.id)) {
      parts.push(encodeSection(SECTION_EXPORT, [...uleb(mutable.length), ...added]));
      written = true;
    }
    parts.push(bytes.subarray(s.start, s.end));
  }
  if (!written) parts.push(encodeSection(SECTION_EXPORT, [...uleb(mutable.length), ...added]));
  return { bytes: joinBytes(parts), globals: names };
}


/** How many globals the module imports (they come first in the global index space); null if unreadable. */
function importedGlobals(bytes: Uint8Array, imports: { contentStart: number } | undefined): number | null {
  if (!imports) return 0;
  let at = imports.contentStart;
  let count: number;
  [count, at] = readUleb(bytes, at);
  let globals = 0;
  const skipName = () => {
    let length: number;
    [length, at] = readUleb(bytes, at);
    at += length;
  };
  const skipLeb = () => {
    while (bytes[at++] & 0x80);
  };
  const skipLimits = () => {
    const flags = bytes[at++];
    skipLeb();
    if (flags & 0x01) skipLeb();
  };
  const skipValType = () => {
    const type = bytes[at++];
    if (type === 0x63 || type === 0x64) skipLeb();
  };
  for (let i = 0; i < count; i++) {
    skipName();
    skipName();
    const kind = bytes[at++];
    if (kind === 0x00) skipLeb(); // function: type index
    else if (kind === 0x01) {
      skipValType(); // table: element type, limits
      skipLimits();
    } else if (kind === 0x02) skipLimits(); // memory
    else if (kind === KIND_GLOBAL) {
      skipValType();
      at++; // mutability
      globals++;
    } else if (kind === 0x04) {
      at++; // tag: attribute, type index
      skipLeb();
    } else return null;
  }
  return globals;
}

/** Indexes (within the global section) of the mutable globals; null if one cannot be restored or read. */
function mutableGlobals(bytes: Uint8Array, globalSection: { contentStart: number; end: number } | undefined): number[] | null {
  if (!globalSection) return [];
  let at = globalSection.contentStart;
  let count: number;
  [count, at] = readUleb(bytes, at);
  const mutable: number[] = [];
  for (let i = 0; i < count; i++) {
    const type = bytes[at++];
    if (type === 0x63 || type === 0x64) while (bytes[at++] & 0x80);
    const isMutable = bytes[at++] === 0x01;
    if (isMutable && type === V128) return null; // JavaScript cannot set a v128 global
    if (isMutable) mutable.push(i);
    const end = constantExpressionEnd(bytes, at);
    if (end === null || end > globalSection.end) return null;
    at = end;
  }
  return mutable;
}

/** Where a constant expression (an initialiser) ends, just past its `end`; null for one this does not read. */
function constantExpressionEnd(bytes: Uint8Array, at: number): number | null {
  const skipLeb = () => {
    while (bytes[at++] & 0x80);
  };
  for (;;) {
    const op = bytes[at++];
    switch (op) {
      case 0x0b: // end
        return at;
      case 0x41: // i32.const
      case 0x42: // i64.const
      case 0x23: // global.get
      case 0xd0: // ref.null
      case 0xd2: // ref.func
        skipLeb();
        break;
      case 0x43: // f32.const
        at += 4;
        break;
      case 0x44: // f64.const
        at += 8;
        break;
      case 0x6a: // extended constants: i32/i64 add, sub, mul
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      case 0xfd: // v128.const
        if (bytes[at++] !== 12) return null;
        at += 16;
        break;
      default:
        return null;
    }
  }
}
