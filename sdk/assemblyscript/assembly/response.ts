// Responses: made by the app for the client, or received from a backend.
import * as resp from "./abi/http_resp";
import { Body, StreamingBody } from "./body";
import { Headers } from "./headers";
import { INVALID_HANDLE, OUT } from "./io";
import { check } from "./status";

/** A response: `new Response(status)`, `Response.fromText(...)`, or what `Request.send` returns. */
export class Response {
  /** The host's handle (advanced use: the raw `abi/*` calls take it). */
  readonly handle: u32;
  readonly headers: Headers;
  private bodyHandle: u32;

  /** A new response (`handle` and `bodyHandle` wrap ones the raw `abi/*` calls gave instead; `status` is then ignored). */
  constructor(status: u16 = 200, handle: u32 = INVALID_HANDLE, bodyHandle: u32 = INVALID_HANDLE) {
    if (handle == INVALID_HANDLE) {
      check(resp.new_(OUT), "create response");
      handle = load<u32>(OUT);
      if (status != 200) check(resp.status_set(handle, status), "set status " + status.toString());
    }
    this.handle = handle;
    this.bodyHandle = bodyHandle;
    this.headers = new Headers(true, handle);
  }

  /** A response with a text body and `Content-Type: text/plain; charset=utf-8`. */
  static fromText(text: string, status: u16 = 200): Response {
    const out = new Response(status);
    out.headers.set("content-type", "text/plain; charset=utf-8");
    out.setBody<string>(text);
    return out;
  }

  /** A response with a binary body (a Uint8Array or ArrayBuffer). */
  static fromBytes<T>(bytes: T, status: u16 = 200): Response {
    const out = new Response(status);
    out.setBody<T>(bytes);
    return out;
  }

  /** An empty response with `status`. */
  static fromStatus(status: u16): Response {
    return new Response(status);
  }

  /** A redirect to `location` (302 unless told otherwise). */
  static redirect(location: string, status: u16 = 302): Response {
    const out = new Response(status);
    out.headers.set("location", location);
    return out;
  }

  get status(): u16 {
    check(resp.status_get(this.handle, OUT), "read status");
    return load<u16>(OUT);
  }

  set status(value: u16) {
    check(resp.status_set(this.handle, value), "set status " + value.toString());
  }

  /** Sets a header (replacing its values); returns the response, for chaining. */
  setHeader(name: string, value: string): Response {
    this.headers.set(name, value);
    return this;
  }

  /** The body: a backend's response body streams in as it is read. */
  get body(): Body {
    if (this.bodyHandle == INVALID_HANDLE) this.bodyHandle = new Body().handle;
    return new Body(this.bodyHandle);
  }

  /** Replaces the body with a string (as UTF-8), a Uint8Array, an ArrayBuffer or a `Body` (used up). */
  setBody<T>(value: T): Response {
    if (value instanceof Body) {
      this.bodyHandle = changetype<Body>(value).handle;
    } else {
      this.bodyHandle = Body.from<T>(value).handle;
    }
    return this;
  }

  /** Reads the whole body as UTF-8 text. */
  text(): string {
    return this.body.text();
  }

  /** Reads the whole body. */
  bytes(): Uint8Array {
    return this.body.bytes();
  }

  /** Sends the response to the client with its whole body (a backend's body streams through). */
  send(): void {
    if (this.bodyHandle == INVALID_HANDLE) this.bodyHandle = new Body().handle;
    check(resp.send_downstream(this.handle, this.bodyHandle, 0), "send response");
    this.bodyHandle = INVALID_HANDLE;
  }

  /**
   * Sends the status and headers now and returns the body's write end: what
   * the body holds already goes first, each `write` follows at once, and
   * `finish()` ends the response.
   */
  stream(): StreamingBody {
    if (this.bodyHandle == INVALID_HANDLE) this.bodyHandle = new Body().handle;
    const handle = this.bodyHandle;
    check(resp.send_downstream(this.handle, handle, 1), "send response");
    this.bodyHandle = INVALID_HANDLE;
    return new StreamingBody(handle);
  }
}
