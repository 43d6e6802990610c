// Facts about the client connection. The same calls exist twice in the ABI:
// deprecated ones in `fastly_http_req` that imply the client request, and
// ones in `fastly_http_downstream` that take a request handle. Both share
// these implementations.
//
// A local host answers what it honestly knows (addresses, request id,
// original header names, and over HTTPS the handshake: protocol, cipher,
// SNI, ClientHello, JA3, JA4, client certificate) and `none` for what only
// the production edge measures (HTTP/2 fingerprints, bot and proxy
// detection) or for TLS facts on a plain-HTTP connection.
import { Status } from "../abi/status.ts";
import type { DownstreamTls } from "../engine/protocol.ts";
import type { Session } from "../session/session.ts";
import { latin1, utf8, writeIp, writeMultiValue, writeValue } from "./abi-io.ts";

/** Only the client's request carries downstream metadata. */
export function checkDownstream(s: Session, req: number): void {
  s.requests.get(req);
}

export function clientIp(s: Session, out: number, nOut: number): number {
  return writeIp(s.mem, s.info.clientAddress, out, nOut);
}

export function serverIp(s: Session, out: number, nOut: number): number {
  return writeIp(s.mem, s.info.serverAddress, out, nOut);
}

export function requestId(s: Session, out: number, max: number, nOut: number): number {
  return writeValue(s.mem, out, max, nOut, utf8(s.info.requestId));
}

export function originalHeaderNames(s: Session, buf: number, bufLen: number, cursor: number, endOut: number, nOut: number): number {
  return writeMultiValue(s.mem, s.originalHeaderNames.map(latin1), buf, bufLen, cursor, endOut, nOut);
}

export function originalHeaderCount(s: Session, out: number): number {
  s.mem.u32(out, s.originalHeaderNames.length);
  return Status.OK;
}

export function complianceRegion(s: Session, out: number, max: number, nOut: number): number {
  return writeValue(s.mem, out, max, nOut, utf8("none"));
}

/** What only the production edge measures (HTTP/2 and other fingerprints). */
export function measuredAtTheEdge(): number {
  return Status.NONE;
}

/** A fact of the TLS handshake as bytes, or `none` on plain HTTP (or when it has none). */
function tlsValue(s: Session, pick: (tls: DownstreamTls) => Uint8Array | null, out: number, max: number, nOut: number): number {
  const tls = s.info.tlsFacts;
  const value = tls ? pick(tls) : null;
  return value ? writeValue(s.mem, out, max, nOut, value) : Status.NONE;
}

/** The JA3 digest: 16 bytes, no buffer length to check against. */
function tlsJa3Md5(s: Session, out: number, nOut: number): number {
  const digest = s.info.tlsFacts?.ja3Md5;
  if (!digest) return Status.NONE;
  s.mem.write(out, digest);
  s.mem.u32(nOut, digest.byteLength);
  return Status.OK;
}

function tlsClientCertVerifyResult(s: Session, out: number): number {
  const tls = s.info.tlsFacts;
  if (!tls) return Status.NONE;
  s.mem.u32(out, tls.clientCertVerify);
  return Status.OK;
}

/** A boolean flag a local host can answer: no DDoS. */
export function writeFalse(s: Session, out: number): number {
  s.mem.u32(out, 0);
  return Status.OK;
}

/** Whether the request's `Fastly-Key` is one of `[local_server] fake_valid_fastly_keys`. */
export function fastlyKeyIsValid(s: Session, req: number, out: number): number {
  const key = s.requests.get(req).headers.get("fastly-key");
  s.mem.u32(out, key !== undefined && (s.service.data.fakeValidFastlyKeys ?? []).includes(key) ? 1 : 0);
  return Status.OK;
}

/**
 * Bot detection, as the client's `X-Fastly-Bot-*` fields describe it
 * (runtime/server/bot-headers.ts). Without them: not analyzed, not detected,
 * not verified (SDKs take `none` for these as an error), and `none` for the
 * name and the category.
 */
export const bot = {
  analyzed: (s: Session, out: number) => writeFlag(s, out, s.info.bot?.analyzed ?? false),
  detected: (s: Session, out: number) => writeFlag(s, out, s.info.bot?.detected ?? false),
  verified: (s: Session, out: number) => writeFlag(s, out, s.info.bot?.verified ?? false),
  name: (s: Session, out: number, max: number, nOut: number) => {
    const name = s.info.bot?.name;
    return name == null ? Status.NONE : writeValue(s.mem, out, max, nOut, utf8(name));
  },
  category: (s: Session, out: number, max: number, nOut: number) => {
    const category = s.info.bot?.category;
    return category == null ? Status.NONE : writeValue(s.mem, out, max, nOut, utf8(category));
  },
  categoryKind: (s: Session, out: number) => {
    const kind = s.info.bot?.categoryKind;
    if (kind == null) return Status.NONE;
    s.mem.u32(out, kind);
    return Status.OK;
  },
};

function writeFlag(s: Session, out: number, value: boolean): number {
  s.mem.u32(out, value ? 1 : 0);
  return Status.OK;
}

/** The TLS facts of the client connection, shared by both forms of the calls. */
export const tls = {
  protocol: (s: Session, out: number, max: number, nOut: number) => tlsValue(s, (t) => utf8(t.protocol), out, max, nOut),
  cipher: (s: Session, out: number, max: number, nOut: number) => tlsValue(s, (t) => utf8(t.cipher), out, max, nOut),
  serverName: (s: Session, out: number, max: number, nOut: number) =>
    tlsValue(s, (t) => (t.serverName === null ? null : utf8(t.serverName)), out, max, nOut),
  clientHello: (s: Session, out: number, max: number, nOut: number) => tlsValue(s, (t) => t.clientHello, out, max, nOut),
  ja4: (s: Session, out: number, max: number, nOut: number) => tlsValue(s, (t) => (t.ja4 === null ? null : utf8(t.ja4)), out, max, nOut),
  /** The client certificate, in PEM (`none` when the client sent none). */
  clientCertificate: (s: Session, out: number, max: number, nOut: number) =>
    tlsValue(s, (t) => (t.clientCertificate === null ? null : utf8(t.clientCertificate)), out, max, nOut),
  ja3Md5: tlsJa3Md5,
  clientCertVerifyResult: tlsClientCertVerifyResult,
};
