// Reading a TLS ClientHello and fingerprinting it (JA3, JA4), checked against
// the JA4 specification's worked examples and against a browser's published
// fingerprints (a Chrome 143 ClientHello: its JA3 text and hash, its JA4 and
// raw JA4), rebuilt here byte for byte with GREASE values added.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isGrease, ja3Md5, ja3Text, ja4, ja4FromParts, ja4Parts, parseClientHello, takeClientHello } from "../../runtime/net/client-hello.ts";

const CHROME = {
  ciphers: [0x0a0a, 4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156, 157, 47, 53],
  extensions: [0x1a1a, 45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27, 0x2a2a],
  groups: [0x3a3a, 4588, 29, 23, 24],
  signatureAlgorithms: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
  ja3Text: "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0",
  ja3: "98487aa16281980e7d1120d399efb6a4",
  ja4: "t13d1516h2_8daaf6152771_d8a2da3f94cd",
};

const u16 = (n: number) => [n >> 8, n & 0xff];
const vector16 = (bytes: number[]) => [...u16(bytes.length), ...bytes];
const vector8 = (bytes: number[]) => [bytes.length, ...bytes];

/** The extension's contents as Chrome would send them (empty for those fingerprints do not read). */
function extensionData(type: number): number[] {
  switch (type) {
    case 0:
      return vector16([0, ...vector16([..."example.com"].map((c) => c.charCodeAt(0)))]);
    case 10:
      return vector16(CHROME.groups.flatMap(u16));
    case 11:
      return vector8([0]);
    case 13:
      return vector16(CHROME.signatureAlgorithms.flatMap(u16));
    case 16:
      return vector16([...vector8([0x68, 0x32]), ...vector8([..."http/1.1"].map((c) => c.charCodeAt(0)))]);
    case 43:
      return vector8([0x4a, 0x4a, 0x03, 0x04, 0x03, 0x03]);
    default:
      return [];
  }
}

function chromeHello(): Uint8Array {
  const extensions = CHROME.extensions.flatMap((type) => [...u16(type), ...vector16(extensionData(type))]);
  const body = [
    ...u16(0x0303),
    ...new Array(32).fill(7),
    ...vector8(new Array(32).fill(9)),
    ...vector16(CHROME.ciphers.flatMap(u16)),
    ...vector8([0]),
    ...vector16(extensions),
  ];
  return new Uint8Array([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, ...body]);
}

describe("a ClientHello", () => {
  it("is read into what fingerprints need", () => {
    const hello = parseClientHello(chromeHello())!;
    expect(hello.legacyVersion).toBe(0x0303);
    expect(hello.serverName).toBe("example.com");
    expect(hello.alpn.map((name) => Buffer.from(name).toString())).toEqual(["h2", "http/1.1"]);
    expect(hello.versions).toEqual([0x4a4a, 0x0304, 0x0303]);
    expect(hello.pointFormats).toEqual([0]);
    expect(parseClientHello(new Uint8Array([1, 0, 0, 9, 3, 3]))).toBeNull();
  });

  it("has the browser's published JA3 and JA4", () => {
    const hello = parseClientHello(chromeHello())!;
    expect(ja3Text(hello)).toBe(CHROME.ja3Text);
    expect(Buffer.from(ja3Md5(hello)).toString("hex")).toBe(CHROME.ja3);
    expect(ja4(hello)).toBe(CHROME.ja4);
  });

  it("hashes JA4's parts as the specification's examples do", () => {
    const ciphers = "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9".split(",");
    const extensions = "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01".split(",");
    const signatureAlgorithms = "0403,0804,0401,0503,0805,0501,0806,0601".split(",");
    expect(ja4FromParts({ prefix: "t13d1516h2", ciphers, extensions, signatureAlgorithms })).toBe("t13d1516h2_8daaf6152771_e5627efa2ab1");
    expect(ja4FromParts({ prefix: "t13d1516h2", ciphers, extensions, signatureAlgorithms: [] })).toBe("t13d1516h2_8daaf6152771_6d807ffa2a79");
    expect(ja4FromParts({ prefix: "t13i0000", ciphers: [], extensions: [], signatureAlgorithms: [] })).toBe("t13i0000_000000000000_000000000000");
    expect(createHash("sha256").update(ciphers.join(",")).digest("hex").slice(0, 12)).toBe("8daaf6152771");
  });

  it("takes the ALPN characters, the version and the SNI letter as JA4 says", () => {
    const hello = parseClientHello(chromeHello())!;
    const prefix = (changes: Partial<typeof hello>) => ja4Parts({ ...hello, ...changes }).prefix;
    expect(prefix({ alpn: [new Uint8Array([0xab])] })).toBe("t13d1516ab");
    expect(prefix({ alpn: [new Uint8Array([0xab, 0xcd])] })).toBe("t13d1516ad");
    expect(prefix({ alpn: [new Uint8Array([0x30, 0xab])] })).toBe("t13d15163b");
    expect(prefix({ alpn: [new Uint8Array([0x30, 0xab, 0xcd, 0x31])] })).toBe("t13d151601");
    expect(prefix({ alpn: [] })).toBe("t13d151600");
    expect(prefix({ versions: [], legacyVersion: 0x0303 })).toBe("t12d1516h2");
    expect(prefix({ extensions: hello.extensions.filter((type) => type !== 0) })).toBe("t13i1515h2");
    expect(isGrease(0xfafa) && isGrease(0x0a0a) && !isGrease(0x0a0b)).toBe(true);
  });
});

describe("taking the ClientHello from a connection's first bytes", () => {
  const record = (bytes: Uint8Array) => new Uint8Array([22, 3, 1, bytes.length >> 8, bytes.length & 0xff, ...bytes]);

  it("waits for whole records, and joins a hello split over two", () => {
    const hello = chromeHello();
    const whole = record(hello);
    expect(takeClientHello(whole.subarray(0, 3))).toBe("more");
    expect(takeClientHello(whole.subarray(0, 100))).toBe("more");
    expect(takeClientHello(whole)).toEqual(hello);
    const split = new Uint8Array([...record(hello.subarray(0, 50)), ...record(hello.subarray(50))]);
    expect(takeClientHello(split.subarray(0, 60))).toBe("more");
    expect(takeClientHello(split)).toEqual(hello);
  });

  it("says when the bytes are not a ClientHello", () => {
    expect(takeClientHello(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"))).toBeNull();
    expect(takeClientHello(record(new Uint8Array([2, 0, 0, 1, 0])))).toBeNull();
  });
});
