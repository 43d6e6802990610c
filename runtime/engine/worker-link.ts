// The worker's side of the thread boundary: turns a session's requests to
// the main thread (sends, body reads, the response, stream writes, logs)
// into messages, and settles them when the main thread replies.
import { HostError, SendError, type Status } from "../abi/status.ts";
import type { NextRequest, RequestPromise } from "../session/next-request.ts";
import type { HostLink, Session } from "../session/session.ts";
import { StreamWriter } from "../session/stream-writer.ts";
import type {
  BodySpec,
  GuestOutcome,
  MainToWorker,
  ReadResult,
  ResponseHead,
  WorkerCall,
  WorkerToMain,
} from "./protocol.ts";
import type { MessageBatch } from "./message-batch.ts";


/** Buffers a chunk owns entirely can move to the main thread instead of being copied. */
function transferables(parts: readonly (Uint8Array | number)[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const part of parts) {
    if (typeof part !== "number" && part.buffer instanceof ArrayBuffer && part.byteOffset === 0 && part.byteLength === part.buffer.byteLength && part.byteLength > 0 && !out.includes(part.buffer)) {
      out.push(part.buffer);
    }
  }
  return out;
}

export class WorkerLink implements HostLink {
  private readonly outbox: MessageBatch<WorkerToMain>;
  private nextCall = 1;
  private nextStream = 1;
  private readonly calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  private readonly streams = new Map<number, StreamWriter>();
  /** Reusable sandboxes waiting for a request, by sandbox id: each settles its wait. */
  private readonly parked = new Map<number, (next: NextRequest | null) => void>();
  private nextSandbox = 1;

  constructor(outbox: MessageBatch<WorkerToMain>) {
    this.outbox = outbox;
  }

  /** `urgent`: output for the client or the log, sent before the guest runs on (message-batch.ts). */
  private post(message: WorkerToMain, transfer?: ArrayBuffer[], urgent = false): void {
    this.outbox.post(message, transfer, urgent);
  }

  call(rid: number, call: WorkerCall): Promise<unknown> {
    const id = this.nextCall++;
    const transfer = call.op === "send" ? transferables(call.body.parts) : [];
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.post({ t: "call", call: id, rid, ...call }, transfer);
    });
  }

  invoke(rid: number, service: string, method: string, args: unknown[]): Promise<unknown> {
    return this.call(rid, { op: "invoke", service, method, args });
  }

  read(id: number, max: number): Promise<ReadResult> {
    // Body reads are not tied to a request on the main thread: bodies have global ids.
    return this.call(0, { op: "read", body: id, max }) as Promise<ReadResult>;
  }

  respond(rid: number, head: ResponseHead, manualFraming: boolean, body: BodySpec): void {
    this.post({ t: "respond", rid, head, manualFraming, body }, transferables(body.parts), true);
  }

  log(rid: number, endpoint: string, message: string): void {
    this.post({ t: "log", rid, endpoint, message }, undefined, true);
  }

  release(rid: number, bodies: number[]): void {
    this.post({ t: "release", rid, bodies });
  }

  done(rid: number, outcome: GuestOutcome, cpuMs: number): void {
    this.post({ t: "done", rid, outcome, cpuMs });
  }

  awaitNextRequest(s: Session, timeoutMs: number): RequestPromise {
    const sandbox = this.nextSandbox++;
    let settle!: (next: NextRequest | null) => void;
    const promise = new Promise<NextRequest | null>((resolve) => (settle = resolve));
    const end = (next: NextRequest | null) => {
      if (!this.parked.delete(sandbox)) return;
      clearTimeout(timer);
      if (!next) this.post({ t: "unpark", sandbox });
      settle(next);
    };
    const timer = setTimeout(() => end(null), timeoutMs);
    this.parked.set(sandbox, end);
    // At once, like client output: the client that just got its answer may send its next request right away.
    this.post({ t: "park", sandbox, moduleId: s.moduleId }, undefined, true);
    return { promise, abandon: () => end(null) };
  }

  requestDone(s: Session): void {
    this.done(s.rid, { kind: "ok" }, s.cpuUsedMs);
  }

  openStream(): StreamWriter {
    const stream = new StreamWriter(this.nextStream++, this);
    this.streams.set(stream.id, stream);
    return stream;
  }

  write(stream: number, chunk: Uint8Array | number): void {
    this.post({ t: "write", stream, chunk }, typeof chunk === "number" ? [] : transferables([chunk]), true);
  }

  finish(stream: number, abandon: boolean, trailers: string[] | null): void {
    this.streams.delete(stream);
    this.post({ t: "finish", stream, abandon, trailers }, undefined, true);
  }

  /** Handles the main thread's replies and acknowledgements. */
  receive(message: MainToWorker): boolean {
    if (message.t === "reply") {
      const call = this.calls.get(message.call);
      if (!call) return true;
      this.calls.delete(message.call);
      if (message.ok) call.resolve(message.value);
      else {
        const { status, message: text, detail } = message.error;
        call.reject(detail === undefined ? new HostError(status as Status, text) : new SendError(status as Status, text, detail));
      }
      return true;
    }
    if (message.t === "next") {
      const settle = this.parked.get(message.sandbox);
      // The wait ended meanwhile (timed out, abandoned): the main thread runs the request elsewhere.
      if (!settle) this.post({ t: "bounce", rid: message.rid });
      else settle({ rid: message.rid, head: message.head, body: message.body, info: message.info });
      return true;
    }
    if (message.t === "ack") {
      this.streams.get(message.stream)?.acknowledge(message.bytes);
      return true;
    }
    return false;
  }
}
