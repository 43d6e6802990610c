// ACLs guests query with `fastly_acl::lookup`: IP prefixes, each with an
// action, and a lookup that answers the longest prefix holding an address.
// Built from `[local_server.acls]` (runtime/config/acls.ts) and read in place
// by the workers (part of the service data), so an `Acl` is plain data that
// crosses threads by structured clone.
//
// IPv4 and IPv6 prefixes live apart: an IPv4 address only meets IPv4
// prefixes and an IPv6 address IPv6 ones, except that an IPv4-mapped IPv6
// address (::ffff:a.b.c.d) also meets the IPv4 prefixes, as the address it
// carries (the reference emulator does not do this; a client reaching a
// dual-stack socket over IPv4 shows up in that form).
import { isIPv4, isIPv6 } from "node:net";

export type AclAction = "ALLOW" | "BLOCK";

/** A prefix as parsed: the network's address bytes with the host bits cleared. */
export interface Cidr {
  /** 4 bytes (IPv4) or 16 (IPv6). */
  bytes: Uint8Array;
  /** Prefix length in bits: 0-32 or 0-128. */
  length: number;
  /** The normalized spelling (`1.2.3.0/24`, `2001:db8::/32`): what a lookup reports. */
  text: string;
  /** Whether the written address had bits set past the prefix length (they are cleared). */
  hostBits: boolean;
}

/** Prefixes of one address family: `${length}/${hex digits of the prefix}` -> the JSON a lookup answers. */
interface PrefixTable {
  /** The prefix lengths present, longest first. */
  lengths: number[];
  entries: Map<string, string>;
}

export interface Acl {
  v4: PrefixTable;
  v6: PrefixTable;
}

/** ACL name -> ACL. */
export type AclsData = Record<string, Acl>;

/** Parses `address/length`; a string saying what is wrong when it is not a prefix. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return "no prefix length: write it as address/length, such as 192.0.2.0/24 or 2001:db8::/32";
  const address = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  const bytes = parseIp(address);
  if (bytes === null) return `"${address}" is not an IPv4 or IPv6 address`;
  const max = bytes.byteLength * 8;
  // The platform takes prefix lengths 0-32 (IPv4) or 0-128 (IPv6).
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) {
    return `the prefix length "${lengthText}" is not a whole number from 0 to ${max}`;
  }
  const length = Number(lengthText);
  const network = masked(bytes, length);
  const hostBits = network.some((byte, i) => byte !== bytes[i]);
  return { bytes: network, length, text: `${formatIp(network)}/${length}`, hostBits };
}

/** 4 or 16 bytes for an IPv4 or IPv6 address (no zone), else null. */
export function parseIp(text: string): Uint8Array | null {
  if (isIPv4(text)) return Uint8Array.from(text.split(".").map(Number));
  if (!isIPv6(text) || text.includes("%")) return null;
  const bytes = new Uint8Array(16);
  let head = text;
  let tail = "";
  const gap = text.indexOf("::");
  if (gap >= 0) [head, tail] = [text.slice(0, gap), text.slice(gap + 2)];
  const groups = (part: string): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const [a, b, c, d] = piece.split(".").map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const first = groups(head);
  const last = groups(tail);
  first.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  last.forEach((group, i) => {
    const at = (8 - last.length + i) * 2;
    bytes[at] = group >> 8;
    bytes[at + 1] = group & 0xff;
  });
  return bytes;
}

/** IPv4 dotted; IPv6 lower-case with the longest run of zero groups compressed (RFC 5952). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.byteLength === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestAt = -1;
  let bestLength = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestAt, bestLength] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = (list: number[]) => list.map((group) => group.toString(16)).join(":");
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLength))}`;
}

function masked(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < out.byteLength; i++) {
    const bits = Math.min(8, Math.max(0, length - i * 8));
    out[i] = bytes[i] & (0xff << (8 - bits));
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The table key of the prefix of `length` bits of an address given as hex digits. */
function prefixKey(addressHex: string, length: number): string {
  const whole = length >> 2;
  const rest = length & 3;
  let key = `${length}/${addressHex.slice(0, whole)}`;
  if (rest) key += (parseInt(addressHex[whole], 16) & (0xf0 >> rest) & 0xf).toString(16);
  return key;
}

/** Builds an ACL entry by entry: a later entry for the same prefix replaces an earlier one. */
export class AclBuilder {
  private readonly v4 = new Map<string, string>();
  private readonly v6 = new Map<string, string>();

  private table(cidr: Cidr): Map<string, string> {
    return cidr.bytes.byteLength === 4 ? this.v4 : this.v6;
  }

  private key(cidr: Cidr): string {
    return prefixKey(hex(cidr.bytes), cidr.length);
  }

  has(cidr: Cidr): boolean {
    return this.table(cidr).has(this.key(cidr));
  }

  set(cidr: Cidr, action: AclAction): void {
    // The body a match answers: what the platform's lookup reports, the prefix in its normalized form.
    this.table(cidr).set(this.key(cidr), JSON.stringify({ action, prefix: cidr.text }));
  }

  delete(cidr: Cidr): boolean {
    return this.table(cidr).delete(this.key(cidr));
  }

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  build(): Acl {
    return { v4: prefixTable(this.v4), v6: prefixTable(this.v6) };
  }
}

function prefixTable(entries: Map<string, string>): PrefixTable {
  const lengths = new Set<number>();
  for (const key of entries.keys()) lengths.add(Number(key.slice(0, key.indexOf("/"))));
  return { lengths: [...lengths].sort((a, b) => b - a), entries: new Map(entries) };
}

/** The longest prefix of `table` holding the address: [its length, its JSON], or null. */
function longest(table: PrefixTable, addressHex: string): [number, string] | null {
  for (const length of table.lengths) {
    const json = table.entries.get(prefixKey(addressHex, length));
    if (json !== undefined) return [length, json];
  }
  return null;
}

const V4_MAPPED = "00000000000000000000ffff";

/** The JSON of the longest prefix holding the address (4 or 16 octets), or null for none. */
export function lookupAcl(acl: Acl, octets: Uint8Array): string | null {
  const address = hex(octets);
  if (octets.byteLength === 4) return longest(acl.v4, address)?.[1] ?? null;
  const v6 = longest(acl.v6, address);
  if (!address.startsWith(V4_MAPPED)) return v6?.[1] ?? null;
  // ::ffff:a.b.c.d is a.b.c.d: an IPv4 /n covers what an IPv6 /(96 + n) would, so the longer still wins.
  const v4 = longest(acl.v4, address.slice(V4_MAPPED.length));
  if (v4 && (!v6 || v4[0] + 96 >= v6[0])) return v4[1];
  return v6?.[1] ?? null;
}
