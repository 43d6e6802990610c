// Facts about the client connection. The same calls exist twice in the ABI:
// deprecated ones in `fastly_http_req` that imply the client request, and
// ones in `fastly_http_downstream` that take a request handle. Both share
// these implementations.
//
// A local host answers what it honestly knows (addresses, request id,
// original header names) and `none` for what only the production edge
// measures (TLS fingerprints, bot and proxy detection).
import { Status } from "../abi/status.ts";
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

/** TLS facts: `none` on a plain-HTTP connection; the local server does not record handshakes. */
export function tlsUnknown(): number {
  return Status.NONE;
}

/** A boolean flag a local host can answer: no DDoS, not detected. */
export function writeFalse(s: Session, out: number): number {
  s.mem.u32(out, 0);
  return Status.OK;
}
