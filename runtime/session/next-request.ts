// Reusable sandboxes (`fastly_http_downstream::next_request*`): a guest that
// has answered its request may ask for another and serve it in the same
// instance, with whatever state it kept. The main thread routes a new
// client request to a waiting sandbox before starting a new instance.
import type { DownstreamInfo, RemoteBodyInfo, RequestHead } from "../engine/protocol.ts";

/** A client request handed to a waiting sandbox. */
export interface NextRequest {
  rid: number;
  head: RequestHead;
  body: RemoteBodyInfo | null;
  info: DownstreamInfo;
}

/** A sandbox's wait for its next request (`$request_promise_handle`). */
export interface RequestPromise {
  /** The next request, or null when the wait timed out or was abandoned. */
  promise: Promise<NextRequest | null>;
  abandon(): void;
}

/** The longest a sandbox waits for another request (the reference emulator's cap too). */
export const MAX_NEXT_REQUEST_WAIT_MS = 10_000;
/** Requests one sandbox may serve in all; past this it is told there are no more (and should exit). */
export const MAX_REQUESTS_PER_SANDBOX = 1_000;
