// An origin request in flight (`send_async*`): the guest polls, waits or
// selects on it through its handle.
import { HostError } from "../abi/status.ts";
import type { SendResult } from "../engine/protocol.ts";
import { Headers } from "./headers.ts";

/** A header edit queued with `pending_req_header_*`, applied when the response is forwarded. */
export interface PendingHeaderEdit {
  op: "insert" | "append" | "remove";
  name: string;
  value: string;
  /** `$pending_response_kind`: 0 any, 1 real response only, 2 synthetic error only. */
  target: number;
}

export class PendingRequest {
  readonly promise: Promise<void>;
  result: SendResult | null = null;
  error: HostError | null = null;
  readonly headerEdits: PendingHeaderEdit[] = [];

  constructor(send: Promise<SendResult>) {
    this.promise = send.then(
      (result) => {
        this.result = result;
      },
      (error: unknown) => {
        this.error = error instanceof HostError ? error : new HostError(1, String(error));
      },
    );
  }

  get done(): boolean {
    return this.result !== null || this.error !== null;
  }
}

export function applyHeaderEdits(headers: Headers, edits: PendingHeaderEdit[], synthetic: boolean): void {
  for (const edit of edits) {
    if (edit.target === 1 && synthetic) continue;
    if (edit.target === 2 && !synthetic) continue;
    if (edit.op === "insert") headers.set(edit.name, edit.value);
    else if (edit.op === "append") headers.append(edit.name, edit.value);
    else headers.delete(edit.name);
  }
}
