// Just enough of the WebAssembly binary format to prepare a guest module:
// walk its sections, cap its memory at the configured limit, and encode the
// tiny trampoline module the engine runs guests through.
//
// Binary format: https://webassembly.github.io/spec/core/binary/modules.html

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const SECTION_MEMORY = 5;
const PAGE = 65536;

export class ModuleFormatError extends Error {}

export function readUleb(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (offset >= bytes.length) throw new ModuleFormatError("invalid WebAssembly: the module is truncated");
    const byte = bytes[offset++];
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, offset];
    shift += 7;
    if (shift > 63) throw new ModuleFormatError("invalid WebAssembly: malformed LEB128 integer");
  }
}

export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

export interface Section {
  id: number;
  /** Offset of the section's first byte (its id). */
  start: number;
  /** Offset and end of its contents. */
  contentStart: number;
  end: number;
}

export type BinaryKind = "module" | "component" | "not-wasm";

export function binaryKind(bytes: Uint8Array): BinaryKind {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) return "not-wasm";
  // Core modules are version 1, layer 0; components carry layer 1 in bytes 6-7.
  return bytes[6] === 0x01 && bytes[7] === 0x00 && bytes[4] !== 0x01 ? "component" : "module";
}

export function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    const start = offset;
    const id = bytes[offset++];
    const [size, contentStart] = readUleb(bytes, offset);
    const end = contentStart + size;
    if (end > bytes.length) throw new ModuleFormatError(`invalid WebAssembly: section ${id} runs past the end of the module`);
    out.push({ id, start, contentStart, end });
    offset = end;
  }
  return out;
}

/**
 * Caps the maximum of every memory the module defines at `maxPages`, so that
 * `memory.grow` past the limit fails inside the guest (it sees -1) instead of
 * taking the host's memory. Returns the rewritten bytes and the initial size.
 */
export function capMemory(bytes: Uint8Array<ArrayBuffer>, maxPages: number): { bytes: Uint8Array<ArrayBuffer>; initialPages: number | null } {
  const memory = sections(bytes).find((section) => section.id === SECTION_MEMORY);
  if (!memory) return { bytes, initialPages: null };
  let offset = memory.contentStart;
  let count: number;
  [count, offset] = readUleb(bytes, offset);
  const rewritten: number[] = uleb(count);
  let initialPages: number | null = null;
  for (let i = 0; i < count; i++) {
    const flags = bytes[offset++];
    if (flags & 0x04) throw new ModuleFormatError("64-bit memories are not supported");
    let min: number;
    [min, offset] = readUleb(bytes, offset);
    let max = Infinity;
    if (flags & 0x01) [max, offset] = readUleb(bytes, offset);
    initialPages ??= min;
    if (min > maxPages) {
      throw new ModuleFormatError(
        `the module needs ${(min * PAGE) / 2 ** 20} MiB of memory to start, more than the limit of ${(maxPages * PAGE) / 2 ** 20} MiB`,
      );
    }
    rewritten.push(flags | 0x01, ...uleb(min), ...uleb(Math.min(max, maxPages)));
  }
  const content = Uint8Array.from(rewritten);
  const header = [SECTION_MEMORY, ...uleb(content.length)];
  const out = new Uint8Array(memory.start + header.length + content.length + (bytes.length - memory.end));
  out.set(bytes.subarray(0, memory.start), 0);
  out.set(header, memory.start);
  out.set(content, memory.start + header.length);
  out.set(bytes.subarray(memory.end), memory.start + header.length + content.length);
  return { bytes: out, initialPages };
}

export const WASM_PAGE_SIZE = PAGE;

/** A section: its id, its size, then its contents. */
export function encodeSection(id: number, content: number[] | Uint8Array): Uint8Array<ArrayBuffer> {
  const header = [id, ...uleb(content.length)];
  const out = new Uint8Array(header.length + content.length);
  out.set(header, 0);
  out.set(content, header.length);
  return out;
}

/** The parts of a rewritten module, joined. */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/**
 * The trampoline every guest runs through:
 *
 *   (import "outpost" "start" (func))      ;; the guest's `_start`
 *   (import "outpost" "finished" (func))   ;; tells the host the guest returned
 *   (func (export "run") call 0 call 1)
 *
 * `finished` runs synchronously the moment `_start` returns, before any other
 * guest on the thread resumes, so the CPU tracker always knows who runs.
 */
export function trampolineBytes(): Uint8Array<ArrayBuffer> {
  const voidType = [0x60, 0x00, 0x00];
  const imports = [2, ...name("outpost"), ...name("start"), 0x00, 0x00, ...name("outpost"), ...name("finished"), 0x00, 0x00];
  const body = [0x00, 0x10, 0x00, 0x10, 0x01, 0x0b];
  return Uint8Array.from([
    ...MAGIC,
    0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, ...voidType]),
    ...section(2, imports),
    ...section(3, [1, 0x00]),
    ...section(7, [1, ...name("run"), 0x00, 0x02]),
    ...section(10, [1, body.length, ...body]),
  ]);
}
