// `fastly_http_req::redirect_to_websocket_proxy*` and `redirect_to_grip_proxy*`:
// the guest hands its client's connection to a backend (WebSocket
// passthrough) or to a local Pushpin (Fanout), instead of answering it. The
// handoff is its response: nothing else can be sent to the client, and the
// guest may end at once while the main thread carries the connection on
// (runtime/server/handoff.ts).
//
// v1 passes the client's request on as it came; v2 passes the given
// request's method, path and fields (the WebSocket handshake fields stay the
// client's).
import { HostError, Status } from "../abi/status.ts";
import type { RequestHead } from "../engine/protocol.ts";
import type { Session } from "../session/session.ts";
import { type HostModule, suspending } from "./host-module.ts";

/** The handoff targets, as the main thread's `handoff` service names them. */
type Target = "backend" | "pushpin";

function handOff(s: Session, target: Target, request: RequestHead | null, namePtr: number, nameLen: number): Promise<number> {
  const backend = s.mem.string(namePtr, nameLen);
  if (!backend) throw new HostError(Status.INVAL, "empty backend name");
  if (s.responded) throw new HostError(Status.ERROR, "a response was already sent to the client");
  s.responded = true;
  return s.link.invoke(s.rid, "handoff", target, [backend, request]).then(
    () => Status.OK,
    (error: unknown) => {
      // Refused (an unknown backend, say): the guest may still answer its client.
      s.responded = false;
      throw error;
    },
  );
}

export const handoffCalls: HostModule = {
  redirect_to_websocket_proxy: suspending((s: Session, namePtr: number, nameLen: number) => handOff(s, "backend", null, namePtr, nameLen)),
  redirect_to_websocket_proxy_v2: suspending((s: Session, h: number, namePtr: number, nameLen: number) =>
    handOff(s, "backend", s.requests.get(h).head(), namePtr, nameLen),
  ),
  redirect_to_grip_proxy: suspending((s: Session, namePtr: number, nameLen: number) => handOff(s, "pushpin", null, namePtr, nameLen)),
  redirect_to_grip_proxy_v2: suspending((s: Session, h: number, namePtr: number, nameLen: number) =>
    handOff(s, "pushpin", s.requests.get(h).head(), namePtr, nameLen),
  ),
};
