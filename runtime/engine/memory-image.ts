// Rewrites a module so that its linear memory is imported instead of
// defined, and its data segments become the host's to apply. Each request's
// instance can then get a pooled memory reset to the module's initial image
// (runtime/engine/memory-pool.ts) instead of a freshly allocated one: V8's
// cost of a new instance is almost all in allocating and collecting memories.
//
// Binary format: https://webassembly.github.io/spec/core/binary/modules.html
import { encodeSection, joinBytes, readUleb, sections, uleb } from "./wasm-binary.ts";

const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const SECTION_DATA = 11;
const KIND_MEMORY = 0x02;
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;

/** The import the host satisfies with a pooled memory. */
export const MEMORY_IMPORT = { module: "outpost", name: "memory" } as const;

export interface DataSegment {
  offset: number;
  bytes: Uint8Array;
}

/** What a worker needs to hand out and reset memories for a module. */
export interface MemoryPlan {
  initialPages: number;
  maximumPages: number;
  /** The active data segments, applied to a zeroed memory to make its initial image. */
  segments: DataSegment[];
  /** The module has passive data segments with contents (`memory.init` may read them until `data.drop`). */
  passiveData: boolean;
  /** When set, whole instances are reset and reused, not only their memories (instance-reset.ts). */
  reuse?: InstanceReuse | null;
}

/** How to put an instance back in its initial state besides its memory. */
export interface InstanceReuse {
  /** Export names of the module's mutable globals (global-exports.ts). */
  globals: string[];
}

function readSleb32(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[offset++];
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80 && shift < 35);
  if (shift < 32 && byte & 0x40) result |= -1 << shift;
  return [result, offset];
}

function name(text: string): number[] {
  const encoded = [...new TextEncoder().encode(text)];
  return [...uleb(encoded.length), ...encoded];
}


/**
 * The module with its memory imported and its data segments made passive and
 * empty (so `memory.init` on them still fails as it would on a dropped
 * segment), and the plan to rebuild its initial memory; or null when the
 * module is not of the simple shape this needs (one defined, non-shared
 * 32-bit memory; data segments at constant offsets within the initial size),
 * in which case it runs with memories V8 allocates.
 */
export function importMemory(bytes: Uint8Array<ArrayBuffer>): { bytes: Uint8Array<ArrayBuffer>; plan: MemoryPlan } | null {
  const all = sections(bytes);
  const memory = all.filter((s) => s.id === SECTION_MEMORY);
  if (memory.length !== 1) return null;
  let offset = memory[0].contentStart;
  let count: number;
  [count, offset] = readUleb(bytes, offset);
  if (count !== 1) return null;
  const flags = bytes[offset++];
  if (flags & ~0x01) return null; // shared or 64-bit
  let initialPages: number;
  [initialPages, offset] = readUleb(bytes, offset);
  let maximumPages = 65536;
  if (flags & 0x01) [maximumPages] = readUleb(bytes, offset);

  const segments: DataSegment[] = [];
  let passiveData = false;
  const data = all.find((s) => s.id === SECTION_DATA);
  const newData: number[] = [];
  if (data) {
    let at = data.contentStart;
    let n: number;
    [n, at] = readUleb(bytes, at);
    newData.push(...uleb(n));
    for (let i = 0; i < n; i++) {
      const kind = bytes[at++];
      if (kind === 0x01) {
        // Passive already: keep as it is.
        let length: number;
        [length, at] = readUleb(bytes, at);
        if (length > 0) passiveData = true;
        newData.push(0x01, ...uleb(length), ...bytes.subarray(at, at + length));
        at += length;
        continue;
      }
      if (kind === 0x02) {
        let memoryIndex: number;
        [memoryIndex, at] = readUleb(bytes, at);
        if (memoryIndex !== 0) return null;
      } else if (kind !== 0x00) {
        return null;
      }
      if (bytes[at++] !== OP_I32_CONST) return null; // an offset from a global: not precomputable
      let start: number;
      [start, at] = readSleb32(bytes, at);
      if (bytes[at++] !== OP_END) return null;
      let length: number;
      [length, at] = readUleb(bytes, at);
      const end = (start >>> 0) + length;
      if (end > initialPages * 65536) return null; // would trap at instantiation: leave that to V8
      segments.push({ offset: start >>> 0, bytes: bytes.slice(at, at + length) });
      at += length;
      newData.push(0x01, 0x00); // passive and empty
    }
  }

  const limits = [0x01, ...uleb(initialPages), ...uleb(maximumPages)];
  const memoryImport = [...name(MEMORY_IMPORT.module), ...name(MEMORY_IMPORT.name), KIND_MEMORY, ...limits];
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let importWritten = false;
  const writeImports = (existing: Uint8Array | null) => {
    if (!existing) {
      parts.push(encodeSection(SECTION_IMPORT, [...uleb(1), ...memoryImport]));
    } else {
      const [n, start] = readUleb(existing, 0);
      parts.push(encodeSection(SECTION_IMPORT, [...uleb(n + 1), ...existing.subarray(start), ...memoryImport]));
    }
    importWritten = true;
  };
  for (const s of all) {
    const content = bytes.subarray(s.contentStart, s.end);
    // The import section comes right after the type section (and before any other known section).
    if (!importWritten && s.id !== 0 && s.id !== SECTION_TYPE && s.id !== SECTION_IMPORT) writeImports(null);
    if (s.id === SECTION_IMPORT) {
      writeImports(content);
      continue;
    }
    if (s.id === SECTION_MEMORY) continue; // the memory is imported now
    if (s.id === SECTION_DATA) {
      parts.push(encodeSection(SECTION_DATA, newData));
      continue;
    }
    parts.push(bytes.subarray(s.start, s.end));
  }
  if (!importWritten) writeImports(null);
  return { bytes: joinBytes(parts), plan: { initialPages, maximumPages, segments, passiveData } };
}
