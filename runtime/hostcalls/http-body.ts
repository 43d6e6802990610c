// `fastly_http_body`: reading, writing, appending and finishing bodies,
// buffered or streaming, and their trailers.
import { BodyWriteEnd } from "../abi/constants.ts";
import { HostError, Status } from "../abi/status.ts";
import { Body } from "../session/body.ts";
import { checkHeaderName, checkHeaderValue } from "../session/headers.ts";
import type { Session } from "../session/session.ts";
import { latin1, writeMultiValue, writeValue } from "./abi-io.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** Trailers are readable once the body has been read to its end. */
function finishedBody(s: Session, h: number): Body {
  const body = s.body(h);
  if (body.isStreaming) throw new HostError(Status.INVAL, "trailers of a streaming body cannot be read");
  if (!body.complete) throw new HostError(Status.AGAIN, "body not yet read to its end");
  return body;
}

function closeBody(s: Session, h: number, abandon: boolean): number {
  const body = s.takeBody(h);
  if (body.stream) body.stream.finish(abandon, abandon ? null : body.trailers.toFlat());
  else {
    const unread = body.remoteIds();
    if (unread.length > 0) s.link.release(s.rid, unread);
  }
  return Status.OK;
}

export const fastlyHttpBody: HostModule = {
  new(s, out) {
    s.mem.u32(out, s.asyncItems.add(new Body()));
    return Status.OK;
  },

  read: suspending((s: Session, h: number, buf: number, len: number, nOut: number) => {
    const body = s.bufferedBody(h);
    s.mem.slice(buf, len); // check the destination before waiting for bytes
    const deliver = (chunk: Uint8Array) => {
      s.mem.write(buf, chunk);
      s.mem.u32(nOut, chunk.byteLength);
      return Status.OK;
    };
    const chunk = body.read(len >>> 0, s.link);
    return chunk instanceof Promise ? chunk.then(deliver) : deliver(chunk);
  }),

  write: suspending((s: Session, h: number, ptr: number, len: number, end: number, nOut: number) => {
    const body = s.body(h);
    if (end !== BodyWriteEnd.BACK && end !== BodyWriteEnd.FRONT) throw new HostError(Status.INVAL, "unknown body end");
    const chunk = s.mem.copy(ptr, len);
    s.mem.u32(nOut, chunk.byteLength); // checks the out-pointer before anything is written
    if (body.stream) {
      if (end === BodyWriteEnd.FRONT) throw new HostError(Status.INVAL, "cannot write to the front of a streaming body");
      const flushed = body.stream.write(chunk);
      return flushed ? flushed.then(() => Status.OK) : Status.OK;
    }
    s.chargeHostMemory(chunk.byteLength, "buffered bodies");
    body.write(chunk, end === BodyWriteEnd.FRONT);
    return Status.OK;
  }),

  append: suspending((s: Session, dest: number, src: number) => {
    const target = s.body(dest);
    const source = s.bufferedBody(src);
    if (dest === src) throw new HostError(Status.INVAL, "cannot append a body to itself");
    s.asyncItems.take(src);
    if (!target.stream) {
      target.appendBody(source);
      return Status.OK;
    }
    const stream = target.stream;
    const copy = (parts: (Uint8Array | number)[]) => {
      for (const part of parts) stream.write(part);
      return Status.OK;
    };
    return source.pulling ? source.drain().then(copy) : copy(source.drainNow());
  }),

  close: (s, h) => closeBody(s, h, false),
  abandon: (s, h) => closeBody(s, h, true),

  known_length(s, h, out) {
    const body = s.body(h);
    const length = body.isStreaming ? null : body.knownLength();
    if (length === null) return Status.NONE;
    s.mem.u64(out, length);
    return Status.OK;
  },

  trailer_append(s, h, namePtr, nameLen, valuePtr, valueLen) {
    const body = s.body(h);
    body.trailers.append(checkHeaderName(s.mem.latin1(namePtr, nameLen)), checkHeaderValue(s.mem.latin1(valuePtr, valueLen)));
    return Status.OK;
  },
  trailer_names_get(s, h, buf, bufLen, cursor, endOut, nOut) {
    const names = finishedBody(s, h).trailers.names().map(latin1);
    return writeMultiValue(s.mem, names, buf, bufLen, cursor, endOut, nOut);
  },
  trailer_value_get(s, h, namePtr, nameLen, buf, max, nOut) {
    const body = finishedBody(s, h);
    const value = body.trailers.get(checkHeaderName(s.mem.latin1(namePtr, nameLen)));
    if (value === undefined) return Status.NONE;
    return writeValue(s.mem, buf, max, nOut, latin1(value));
  },
  trailer_values_get(s, h, namePtr, nameLen, buf, bufLen, cursor, endOut, nOut) {
    const body = finishedBody(s, h);
    const values = body.trailers.getAll(checkHeaderName(s.mem.latin1(namePtr, nameLen))).map(latin1);
    return writeMultiValue(s.mem, values, buf, bufLen, cursor, endOut, nOut);
  },
};
