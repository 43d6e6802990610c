// A TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) read into the parts
// client fingerprints are made of, and the two fingerprints guests can ask
// for: JA3 (github.com/salesforce/ja3) and JA4 (github.com/FoxIO-LLC/ja4,
// technical_details/JA4.md). Pure functions over bytes.
import { createHash } from "node:crypto";

export interface ClientHello {
  /** The handshake message as sent: type, length, body. */
  bytes: Uint8Array;
  legacyVersion: number;
  ciphers: number[];
  /** Extension types in the order sent. */
  extensions: number[];
  /** supported_groups (10). */
  groups: number[];
  /** ec_point_formats (11). */
  pointFormats: number[];
  /** supported_versions (43). */
  versions: number[];
  /** signature_algorithms (13), in the order sent. */
  signatureAlgorithms: number[];
  /** application_layer_protocol_negotiation (16): the protocol names, in order. */
  alpn: Uint8Array[];
  /** server_name (0): the host name, or null. */
  serverName: string | null;
}

const HANDSHAKE_RECORD = 22;
const CLIENT_HELLO = 1;
/** No client sends a ClientHello this large; more is not a ClientHello worth waiting for. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

/** RFC 8701: GREASE values (0x0a0a, 0x1a1a, ... 0xfafa) are noise by design, left out of fingerprints. */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

/**
 * The ClientHello handshake message at the start of a connection's bytes:
 * "more" while its records are still arriving, null when the bytes are not
 * TLS records carrying a ClientHello.
 */
export function takeClientHello(stream: Uint8Array): Uint8Array | "more" | null {
  const message: Uint8Array[] = [];
  let have = 0;
  let needed = -1;
  for (let at = 0; ; ) {
    if (stream.length < at + 5) return "more";
    if (stream[at] !== HANDSHAKE_RECORD) return null;
    const length = (stream[at + 3] << 8) | stream[at + 4];
    if (stream.length < at + 5 + length) return "more";
    const fragment = stream.subarray(at + 5, at + 5 + length);
    message.push(fragment);
    have += fragment.length;
    at += 5 + length;
    if (needed < 0 && have >= 4) {
      const first = concat(message);
      if (first[0] !== CLIENT_HELLO) return null;
      needed = 4 + ((first[1] << 16) | (first[2] << 8) | first[3]);
      if (needed > MAX_CLIENT_HELLO_BYTES) return null;
    }
    if (needed >= 0 && have >= needed) return concat(message).subarray(0, needed);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  return new Uint8Array(Buffer.concat(parts));
}

/** Reads a ClientHello handshake message; null when it is malformed. */
export function parseClientHello(bytes: Uint8Array): ClientHello | null {
  try {
    return parse(bytes);
  } catch {
    return null;
  }
}

class Reader {
  at = 0;
  readonly bytes: Uint8Array;
  readonly end: number;
  constructor(bytes: Uint8Array, end = bytes.length) {
    this.bytes = bytes;
    this.end = end;
  }
  u8(): number {
    if (this.at + 1 > this.end) throw new RangeError("short");
    return this.bytes[this.at++];
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u24(): number {
    return (this.u8() << 16) | this.u16();
  }
  /** A sub-reader over the next `length` bytes. */
  take(length: number): Reader {
    if (this.at + length > this.end) throw new RangeError("short");
    const inner = new Reader(this.bytes, this.at + length);
    inner.at = this.at;
    this.at += length;
    return inner;
  }
  u16List(lengthBytes: 1 | 2): number[] {
    const list = this.take(lengthBytes === 1 ? this.u8() : this.u16());
    const out: number[] = [];
    while (list.at < list.end) out.push(list.u16());
    return out;
  }
  get done(): boolean {
    return this.at >= this.end;
  }
}

function parse(bytes: Uint8Array): ClientHello {
  const r = new Reader(bytes);
  if (r.u8() !== CLIENT_HELLO) throw new Error("not a ClientHello");
  const body = r.take(r.u24());
  const hello: ClientHello = {
    bytes,
    legacyVersion: body.u16(),
    ciphers: [],
    extensions: [],
    groups: [],
    pointFormats: [],
    versions: [],
    signatureAlgorithms: [],
    alpn: [],
    serverName: null,
  };
  body.take(32); // random
  body.take(body.u8()); // legacy_session_id
  hello.ciphers = body.u16List(2);
  body.take(body.u8()); // legacy_compression_methods
  if (body.done) return hello;
  const extensions = body.take(body.u16());
  while (!extensions.done) {
    const type = extensions.u16();
    const data = extensions.take(extensions.u16());
    hello.extensions.push(type);
    switch (type) {
      case 0: {
        // server_name: a list of (type, name); type 0 is a host name.
        const names = data.take(data.u16());
        while (!names.done) {
          const kind = names.u8();
          const name = names.take(names.u16());
          if (kind === 0 && hello.serverName === null) hello.serverName = Buffer.from(bytes.subarray(name.at, name.end)).toString("latin1");
        }
        break;
      }
      case 10:
        hello.groups = data.u16List(2);
        break;
      case 11: {
        const formats = data.take(data.u8());
        while (!formats.done) hello.pointFormats.push(formats.u8());
        break;
      }
      case 13:
        hello.signatureAlgorithms = data.u16List(2);
        break;
      case 16: {
        const protocols = data.take(data.u16());
        while (!protocols.done) {
          const name = protocols.take(protocols.u8());
          hello.alpn.push(bytes.subarray(name.at, name.end));
        }
        break;
      }
      case 43:
        hello.versions = data.u16List(1);
        break;
    }
  }
  return hello;
}

const withoutGrease = (values: number[]) => values.filter((value) => !isGrease(value));

/** JA3's text: version, ciphers, extensions, groups, point formats; decimal, GREASE left out. */
export function ja3Text(hello: ClientHello): string {
  return [
    String(hello.legacyVersion),
    withoutGrease(hello.ciphers).join("-"),
    withoutGrease(hello.extensions).join("-"),
    withoutGrease(hello.groups).join("-"),
    hello.pointFormats.join("-"),
  ].join(",");
}

/** JA3: the MD5 digest of its text (16 bytes, as `downstream_tls_ja3_md5` gives them). */
export function ja3Md5(hello: ClientHello): Uint8Array {
  return new Uint8Array(createHash("md5").update(ja3Text(hello)).digest());
}

const VERSIONS: Record<number, string> = {
  0x0304: "13",
  0x0303: "12",
  0x0302: "11",
  0x0301: "10",
  0x0300: "s3",
  0x0002: "s2",
  0xfeff: "d1",
  0xfefd: "d2",
  0xfefc: "d3",
};

const hex4 = (value: number) => value.toString(16).padStart(4, "0");
const count = (n: number) => String(Math.min(n, 99)).padStart(2, "0");
const truncatedSha256 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/** JA4's first part's last two characters: the first ALPN value's first and last characters. */
function alpnCharacters(alpn: Uint8Array[]): string {
  const first = alpn[0];
  if (!first || first.length === 0) return "00";
  const alphanumeric = (byte: number) => (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
  const head = first[0];
  const tail = first[first.length - 1];
  if (alphanumeric(head) && alphanumeric(tail)) return String.fromCharCode(head, tail);
  const hex = Buffer.from(first).toString("hex");
  return hex[0] + hex[hex.length - 1];
}

/** The parts JA4 is made of (its "raw" form). */
export interface Ja4Parts {
  /** "t13d1516h2": protocol, version, SNI, counts, ALPN. */
  prefix: string;
  /** Cipher codes, sorted, GREASE left out. */
  ciphers: string[];
  /** Extension codes, sorted, without GREASE, SNI and ALPN. */
  extensions: string[];
  /** Signature algorithms, in the order sent. */
  signatureAlgorithms: string[];
}

export function ja4Parts(hello: ClientHello): Ja4Parts {
  const ciphers = withoutGrease(hello.ciphers);
  const extensions = withoutGrease(hello.extensions);
  const versions = withoutGrease(hello.versions);
  const version = versions.length > 0 ? Math.max(...versions) : hello.legacyVersion;
  const prefix =
    "t" +
    (VERSIONS[version] ?? "00") +
    (extensions.includes(0) ? "d" : "i") +
    count(ciphers.length) +
    count(extensions.length) +
    alpnCharacters(hello.alpn);
  return {
    prefix,
    ciphers: ciphers.map(hex4).sort(),
    extensions: extensions.filter((type) => type !== 0x0000 && type !== 0x0010).map(hex4).sort(),
    signatureAlgorithms: withoutGrease(hello.signatureAlgorithms).map(hex4),
  };
}

/** JA4 from its parts: prefix, truncated SHA-256 of the ciphers, of the extensions and signature algorithms. */
export function ja4FromParts(parts: Ja4Parts): string {
  const b = parts.ciphers.length > 0 ? truncatedSha256(parts.ciphers.join(",")) : "000000000000";
  const extensions = parts.extensions.join(",");
  const c =
    parts.extensions.length > 0
      ? truncatedSha256(parts.signatureAlgorithms.length > 0 ? `${extensions}_${parts.signatureAlgorithms.join(",")}` : extensions)
      : "000000000000";
  return `${parts.prefix}_${b}_${c}`;
}

export function ja4(hello: ClientHello): string {
  return ja4FromParts(ja4Parts(hello));
}
