// Sending requests to backends: the blocking `send*`, the async `send_async*`
// and the `pending_req_*` calls that complete them. The origin fetch itself
// (and the readthrough cache in front of it) runs on the main thread.
import { SendErrorDetailTag } from "../abi/constants.ts";
import { HostError, INVALID_HANDLE, SendError, Status } from "../abi/status.ts";
import type { BodySpec, SendResult } from "../engine/protocol.ts";
import { checkHeaderName, checkHeaderValue } from "../session/headers.ts";
import { applyHeaderEdits, PendingRequest } from "../session/pending-request.ts";
import type { Session } from "../session/session.ts";
import { type HostModule, suspending } from "./host-module.ts";

interface SendMode {
  bypassCache: boolean;
  streaming: boolean;
}

/** Validates and consumes the request and body handles, and starts the send. */
function startSend(s: Session, h: number, b: number, backendPtr: number, backendLen: number, mode: SendMode): Promise<SendResult> | SendResult {
  const backend = s.mem.string(backendPtr, backendLen);
  const request = s.requests.get(h);
  const body = s.bufferedBody(b);
  if (!s.backend(backend)) {
    const known = [...s.service.backends.map((candidate) => candidate.name), ...s.dynamicBackends.keys()].join(", ") || "none";
    s.link.log(s.rid, "stderr", `unknown backend "${backend}" (defined: ${known})`);
    throw new HostError(Status.INVAL, `unknown backend ${backend}`);
  }
  s.requests.take(h);
  const options = {
    manualFraming: request.manualFraming,
    autoDecompressGzip: request.autoDecompressGzip,
    cacheOverride: request.cacheOverride,
    bypassCache: mode.bypassCache,
  };
  const send = (spec: BodySpec) =>
    s.link.call(s.rid, { op: "send", head: request.head(), backend, body: spec, options }) as Promise<SendResult>;
  if (mode.streaming) {
    // The body handle stays with the guest as the write end of the request
    // body; writes made before the main thread sees the send wait there for it.
    const stream = s.link.openStream();
    const drained = body.pulling ? body.drain() : body.drainNow();
    body.stream = stream;
    return drained instanceof Promise
      ? drained.then((parts) => send({ parts, stream: stream.id }))
      : send({ parts: drained, stream: stream.id });
  }
  s.asyncItems.take(b);
  return body.pulling ? body.drain().then((parts) => send({ parts, stream: 0 })) : send({ parts: body.drainNow(), stream: 0 });
}

function writeErrorDetail(s: Session, ptr: number, error: unknown): void {
  const tag = error instanceof SendError ? error.detail : SendErrorDetailTag.INTERNAL_ERROR;
  s.mem.u32(ptr, tag);
  s.mem.u32(ptr + 4, 0); // none of the optional detail fields is filled
}

/** Gives the guest the response: returns OK, or the send's error status. */
function deliver(s: Session, pending: PendingRequest | SendResult, respOut: number, bodyOut: number, detailPtr: number | null): number {
  const result = pending instanceof PendingRequest ? pending.result : pending;
  const error = pending instanceof PendingRequest ? pending.error : null;
  if (error || !result) {
    if (detailPtr !== null) writeErrorDetail(s, detailPtr, error);
    return (error ?? new HostError(Status.ERROR)).status;
  }
  const [resp, body] = s.adoptResponse(result.head, result.body, result.remoteAddress, result.remotePort);
  if (pending instanceof PendingRequest) applyHeaderEdits(s.responses.get(resp).headers, pending.headerEdits, false);
  s.mem.u32(respOut, resp);
  s.mem.u32(bodyOut, body);
  return Status.OK;
}

function blockingSend(bypassCache: boolean, withDetail: boolean) {
  return suspending((s: Session, h: number, b: number, bp: number, bl: number, ...rest: number[]) => {
    const [detailPtr, respOut, bodyOut] = withDetail ? rest : [null, rest[0], rest[1]];
    let started: Promise<SendResult> | SendResult;
    try {
      started = startSend(s, h, b, bp, bl, { bypassCache, streaming: false });
    } catch (error) {
      if (detailPtr !== null && error instanceof HostError && error.status !== Status.BADF) writeErrorDetail(s, detailPtr, error);
      throw error;
    }
    const pending = new PendingRequest(Promise.resolve(started));
    return pending.promise.then(() => deliver(s, pending, respOut, bodyOut, detailPtr));
  });
}

function asyncSend(s: Session, h: number, b: number, bp: number, bl: number, mode: SendMode, out: number): number {
  const pending = new PendingRequest(Promise.resolve(startSend(s, h, b, bp, bl, mode)));
  s.mem.u32(out, s.asyncItems.add(pending));
  return Status.OK;
}

function poll(s: Session, h: number, detailPtr: number | null, doneOut: number, respOut: number, bodyOut: number): number {
  const pending = s.pending(h);
  if (!pending.done) {
    s.mem.u32(doneOut, 0);
    s.mem.u32(respOut, INVALID_HANDLE);
    s.mem.u32(bodyOut, INVALID_HANDLE);
    return Status.OK;
  }
  s.asyncItems.take(h);
  const status = deliver(s, pending, respOut, bodyOut, detailPtr);
  if (status === Status.OK) s.mem.u32(doneOut, 1);
  return status;
}

function wait(s: Session, h: number, detailPtr: number | null, respOut: number, bodyOut: number): number | Promise<number> {
  const pending = s.pending(h);
  const finish = () => {
    s.asyncItems.take(h);
    return deliver(s, pending, respOut, bodyOut, detailPtr);
  };
  return pending.done ? finish() : pending.promise.then(finish);
}

function select(s: Session, hsPtr: number, hsLen: number, detailPtr: number | null, idxOut: number, respOut: number, bodyOut: number): number | Promise<number> {
  const handles = s.mem.readU32List(hsPtr, hsLen);
  if (handles.length === 0) throw new HostError(Status.INVAL, "select over an empty list");
  const pendings = handles.map((handle) => s.pending(handle));
  const finish = (): number => {
    const index = pendings.findIndex((pending) => pending.done);
    const pending = pendings[index];
    s.asyncItems.take(handles[index]);
    s.mem.u32(idxOut, index);
    if (pending.error) {
      // A failed request is reported as done with no response.
      if (detailPtr !== null) writeErrorDetail(s, detailPtr, pending.error);
      s.mem.u32(respOut, INVALID_HANDLE);
      s.mem.u32(bodyOut, INVALID_HANDLE);
      return Status.OK;
    }
    return deliver(s, pending, respOut, bodyOut, detailPtr);
  };
  if (pendings.some((pending) => pending.done)) return finish();
  return Promise.race(pendings.map((pending) => pending.promise)).then(finish);
}

function headerEdit(op: "insert" | "append" | "remove") {
  return (s: Session, h: number, namePtr: number, nameLen: number, ...rest: number[]): number => {
    const pending = s.pending(h);
    const name = checkHeaderName(s.mem.latin1(namePtr, nameLen));
    const value = op === "remove" ? "" : checkHeaderValue(s.mem.latin1(rest[0], rest[1]));
    const target = op === "remove" ? rest[0] : rest[2];
    if (target > 2) throw new HostError(Status.INVAL, "unknown pending response kind");
    pending.headerEdits.push({ op, name, value, target });
    return Status.OK;
  };
}

export const sendCalls: HostModule = {
  send: blockingSend(false, false),
  send_v2: blockingSend(false, true),
  send_v3: blockingSend(true, true),
  send_async: (s, h, b, bp, bl, out) => asyncSend(s, h, b, bp, bl, { bypassCache: false, streaming: false }, out),
  send_async_streaming: (s, h, b, bp, bl, out) => asyncSend(s, h, b, bp, bl, { bypassCache: false, streaming: true }, out),
  send_async_v2: (s, h, b, bp, bl, streaming, out) =>
    asyncSend(s, h, b, bp, bl, { bypassCache: true, streaming: streaming !== 0 }, out),
  pending_req_poll: (s, h, doneOut, respOut, bodyOut) => poll(s, h, null, doneOut, respOut, bodyOut),
  pending_req_poll_v2: (s, h, detail, doneOut, respOut, bodyOut) => poll(s, h, detail, doneOut, respOut, bodyOut),
  pending_req_wait: suspending((s, h, respOut, bodyOut) => wait(s, h, null, respOut, bodyOut)),
  pending_req_wait_v2: suspending((s, h, detail, respOut, bodyOut) => wait(s, h, detail, respOut, bodyOut)),
  pending_req_select: suspending((s, hs, n, idxOut, respOut, bodyOut) => select(s, hs, n, null, idxOut, respOut, bodyOut)),
  pending_req_select_v2: suspending((s, hs, n, detail, idxOut, respOut, bodyOut) =>
    select(s, hs, n, detail, idxOut, respOut, bodyOut),
  ),
  pending_req_header_insert: headerEdit("insert"),
  pending_req_header_append: headerEdit("append"),
  pending_req_header_remove: headerEdit("remove"),
};
