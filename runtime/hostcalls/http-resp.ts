// `fastly_http_resp`: response objects and sending the one response to the client.
import { FramingHeadersMode, HttpVersion } from "../abi/constants.ts";
import { HostError, Status } from "../abi/status.ts";
import type { BodySpec } from "../engine/protocol.ts";
import { Headers } from "../session/headers.ts";
import { applyHeaderEdits } from "../session/pending-request.ts";
import { ResponseState, type Session } from "../session/session.ts";
import { writeIp } from "./abi-io.ts";
import { headerCalls } from "./header-calls.ts";
import { type HostModule, suspending } from "./host-module.ts";

const HTTP_KEEPALIVE_AUTOMATIC = 0;
const HTTP_KEEPALIVE_NONE = 1;

function checkFinalStatus(s: Session, response: ResponseState): void {
  if (s.responded) throw new HostError(Status.ERROR, "a response was already sent to the client");
  if (response.status === 103) return; // Early Hints: accepted, then dropped (as the platform does)
  if (response.status < 200) throw new HostError(Status.INVAL, `cannot send a ${response.status} as the final response`);
}

function sendDownstream(s: Session, h: number, b: number, streaming: number): number | Promise<number> {
  const response = s.responses.get(h);
  const body = s.bufferedBody(b);
  checkFinalStatus(s, response);
  s.responses.take(h);
  if (response.status === 103) {
    s.asyncItems.take(b);
    s.link.log(s.rid, "stderr", "103 Early Hints is not forwarded by this host");
    return Status.OK;
  }
  s.responded = true;
  const respond = (spec: BodySpec) => {
    if (response.keepaliveOff) response.headers.set("connection", "close");
    s.link.respond(s.rid, response.head(), response.manualFraming, spec);
    return Status.OK;
  };
  if (streaming) {
    // The body handle stays open as the write end of the response body.
    const stream = s.link.openStream();
    const parts = body.pulling ? body.drain() : body.drainNow();
    body.stream = stream;
    return parts instanceof Promise ? parts.then((p) => respond({ parts: p, stream: stream.id })) : respond({ parts, stream: stream.id });
  }
  s.asyncItems.take(b);
  return body.pulling ? body.drain().then((p) => respond({ parts: p, stream: 0 })) : respond({ parts: body.drainNow(), stream: 0 });
}

/** Forwards a pending origin response to the client when it arrives; a failed request becomes a 503. */
function sendDownstreamPending(s: Session, p: number): number {
  const pending = s.pending(p);
  if (s.responded) throw new HostError(Status.ERROR, "a response was already sent to the client");
  s.asyncItems.take(p);
  s.responded = true;
  s.background.push(
    pending.promise.then(() => {
      const result = pending.result;
      const headers = Headers.fromFlat(result?.head.headers ?? []);
      applyHeaderEdits(headers, pending.headerEdits, result === null);
      const head = result
        ? { ...result.head, headers: headers.toFlat() }
        : { status: 503, version: HttpVersion.HTTP_11, headers: headers.toFlat() };
      s.link.respond(s.rid, head, false, { parts: result?.body ? [result.body.id] : [], stream: 0 });
    }),
  );
  return Status.OK;
}

export const fastlyHttpResp: HostModule = {
  new(s, out) {
    s.mem.u32(out, s.responses.add(new ResponseState()));
    return Status.OK;
  },
  close(s, h) {
    s.responses.take(h);
    return Status.OK;
  },

  ...headerCalls((s, h) => s.responses.get(h).headers),

  status_get(s, h, out) {
    s.mem.u16(out, s.responses.get(h).status);
    return Status.OK;
  },
  status_set(s, h, status) {
    const response = s.responses.get(h);
    if (status < 100 || status > 999) throw new HostError(Status.INVAL, `invalid status ${status}`);
    response.status = status;
    return Status.OK;
  },

  version_get(s, h, out) {
    s.mem.u32(out, s.responses.get(h).version);
    return Status.OK;
  },
  version_set(s, h, version) {
    const response = s.responses.get(h);
    if (version < HttpVersion.HTTP_09 || version > HttpVersion.H3) throw new HostError(Status.INVAL, "unknown HTTP version");
    response.version = version;
    return Status.OK;
  },

  framing_headers_mode_set(s, h, mode) {
    const response = s.responses.get(h);
    if (mode !== FramingHeadersMode.AUTOMATIC && mode !== FramingHeadersMode.MANUALLY_FROM_HEADERS) {
      throw new HostError(Status.INVAL, "unknown framing headers mode");
    }
    response.manualFraming = mode === FramingHeadersMode.MANUALLY_FROM_HEADERS;
    return Status.OK;
  },

  http_keepalive_mode_set(s, h, mode) {
    const response = s.responses.get(h);
    if (mode !== HTTP_KEEPALIVE_AUTOMATIC && mode !== HTTP_KEEPALIVE_NONE) throw new HostError(Status.INVAL, "unknown keepalive mode");
    response.keepaliveOff = mode === HTTP_KEEPALIVE_NONE;
    return Status.OK;
  },

  send_downstream: suspending(sendDownstream),
  send_downstream_pending: sendDownstreamPending,

  get_addr_dest_ip(s, h, out, nOut) {
    return writeIp(s.mem, s.responses.get(h).remoteAddress, out, nOut);
  },
  get_addr_dest_port(s, h, out) {
    const response = s.responses.get(h);
    if (!response.remoteAddress) return Status.NONE;
    s.mem.u16(out, response.remotePort);
    return Status.OK;
  },
};
