// Requests: the client's, and those the app sends to backends.
import * as async_io from "./abi/async_io";
import * as req from "./abi/http_req";
import { Body } from "./body";
import { Headers } from "./headers";
import { getString6, INVALID_HANDLE, NEVER_ABSENT, OUT, utf8 } from "./io";
import { Response } from "./response";
import { check, FastlyError, Result, SendErrorDetail, sendErrorName, Status } from "./status";

/** `cache_override_tag` bits. */
const PASS: u32 = 1 << 0;
const TTL: u32 = 1 << 1;
const STALE_WHILE_REVALIDATE: u32 = 1 << 2;
const PCI: u32 = 1 << 3;

/** `send_error_detail`: 20 bytes the host fills when a send fails. */
const DETAIL: usize = memory.data(20, 4);
const DETAIL_MASK_ALL: u32 = 0b11110;

/** How the readthrough cache treats a request's response, overriding the origin's headers. */
export class CacheOverride {
  tag: u32 = 0;
  ttlSeconds: u32 = 0;
  staleWhileRevalidateSeconds: u32 = 0;
  surrogateKey: string | null = null;

  /** The origin's caching headers decide (the default). */
  static none(): CacheOverride {
    return new CacheOverride();
  }

  /** Neither look in the cache nor store the response. */
  static pass(): CacheOverride {
    const out = new CacheOverride();
    out.tag = PASS;
    return out;
  }

  /** Cache for `seconds`, then serve stale for `staleWhileRevalidate` seconds while revalidating. */
  static ttl(seconds: u32, staleWhileRevalidate: u32 = 0): CacheOverride {
    const out = new CacheOverride();
    out.tag = TTL;
    out.ttlSeconds = seconds;
    if (staleWhileRevalidate > 0) {
      out.tag |= STALE_WHILE_REVALIDATE;
      out.staleWhileRevalidateSeconds = staleWhileRevalidate;
    }
    return out;
  }

  /** Marks the response as sensitive (PCI): it is not kept on disk. */
  withPci(): CacheOverride {
    this.tag |= PCI;
    return this;
  }

  /** Adds surrogate keys (space-separated) to the cached response, for purging. */
  withSurrogateKey(keys: string): CacheOverride {
    this.surrogateKey = keys;
    return this;
  }
}

function failedSend(status: u32, backend: string): FastlyError {
  const error = FastlyError.of(status, "send to backend " + backend);
  error.detail = load<u32>(DETAIL);
  // The cause, when the host says more than "internal error".
  if (error.detail != SendErrorDetail.INTERNAL_ERROR) {
    const why = sendErrorName(error.detail);
    if (why.length > 0) error.message += " (" + why + ")";
  }
  return error;
}

function clearDetail(): void {
  memory.fill(DETAIL, 0, 20);
  store<u32>(DETAIL, DETAIL_MASK_ALL, 4);
}

const methodGet = (h: u32, _k: usize, _kl: u32, buf: usize, len: u32, nw: usize): u32 => req.method_get(h, buf, len, nw);
const uriGet = (h: u32, _k: usize, _kl: u32, buf: usize, len: u32, nw: usize): u32 => req.uri_get(h, buf, len, nw);

let client: Request | null = null;

/** An HTTP request: `Request.fromClient()`, or `new Request(method, url)` to send to a backend. */
export class Request {
  /** The host's handle (advanced use: the raw `abi/*` calls take it). */
  readonly handle: u32;
  readonly headers: Headers;
  private bodyHandle: u32;

  /** A new request (`handle` and `bodyHandle` wrap ones the raw `abi/*` calls gave instead). */
  constructor(method: string = "GET", url: string = "/", handle: u32 = INVALID_HANDLE, bodyHandle: u32 = INVALID_HANDLE) {
    const created = handle == INVALID_HANDLE;
    if (created) {
      check(req.new_(OUT), "create request");
      handle = load<u32>(OUT);
    }
    this.handle = handle;
    this.bodyHandle = bodyHandle;
    this.headers = new Headers(false, handle);
    if (created) {
      if (method != "GET") this.method = method;
      this.url = url;
    }
  }

  /** The request the client sent (the same object on every call). */
  static fromClient(): Request {
    let out = client;
    if (out === null) {
      check(req.body_downstream_get(OUT, OUT + 4), "get client request");
      out = new Request("GET", "/", load<u32>(OUT), load<u32>(OUT, 4));
      client = out;
    }
    return out;
  }

  get method(): string {
    return getString6(methodGet, this.handle, 0, 0, NEVER_ABSENT, "read method")!;
  }

  set method(value: string) {
    const bytes = utf8(value);
    check(req.method_set(this.handle, changetype<usize>(bytes), bytes.byteLength), "set method " + value);
  }

  /** The full URL; the client's is absolute (`http://host/path?query`). */
  get url(): string {
    return getString6(uriGet, this.handle, 0, 0, NEVER_ABSENT, "read URL")!;
  }

  set url(value: string) {
    const bytes = utf8(value);
    check(req.uri_set(this.handle, changetype<usize>(bytes), bytes.byteLength), "set URL " + value);
  }

  /** The URL's path, e.g. `/a/b` (not decoded). */
  get path(): string {
    const url = this.url;
    let start = url.indexOf("://");
    start = start < 0 ? 0 : url.indexOf("/", start + 3);
    if (start < 0) return "/";
    let end = url.indexOf("?", start);
    const hash = url.indexOf("#", start);
    if (end < 0 || (hash >= 0 && hash < end)) end = hash;
    return end < 0 ? url.substring(start) : url.substring(start, end);
  }

  /** The URL's query string without `?` ("" when there is none). */
  get query(): string {
    const url = this.url;
    const start = url.indexOf("?");
    if (start < 0) return "";
    const hash = url.indexOf("#", start);
    return hash < 0 ? url.substring(start + 1) : url.substring(start + 1, hash);
  }

  /** The first value of query parameter `name`, percent-decoded (`+` is a space), or null. */
  queryParam(name: string): string | null {
    const query = this.query;
    for (let start = 0; start < query.length; ) {
      let end = query.indexOf("&", start);
      if (end < 0) end = query.length;
      let eq = query.indexOf("=", start);
      if (eq < 0 || eq > end) eq = end;
      if (decodeComponent(query.substring(start, eq)) == name) return eq == end ? "" : decodeComponent(query.substring(eq + 1, end));
      start = end + 1;
    }
    return null;
  }

  /** Sets a header (replacing its values); returns the request, for chaining. */
  setHeader(name: string, value: string): Request {
    this.headers.set(name, value);
    return this;
  }

  /** The body (the client's streams in as it is read). */
  get body(): Body {
    if (this.bodyHandle == INVALID_HANDLE) this.bodyHandle = new Body().handle;
    return new Body(this.bodyHandle);
  }

  /** Replaces the body with a string (as UTF-8), a Uint8Array, an ArrayBuffer or a `Body` (used up). */
  setBody<T>(value: T): Request {
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

  /** How the readthrough cache treats the response to this request. */
  setCacheOverride(settings: CacheOverride): Request {
    const key = settings.surrogateKey;
    const bytes = key === null ? new ArrayBuffer(0) : utf8(key);
    check(
      req.cache_override_v2_set(this.handle, settings.tag, settings.ttlSeconds, settings.staleWhileRevalidateSeconds, changetype<usize>(bytes), bytes.byteLength),
      "set cache override",
    );
    return this;
  }

  /**
   * Sends the request to `backend` (a name from fastly.toml) through the
   * readthrough cache and waits for the response's headers; the body streams
   * in as it is read. The request is used up. Stops the request on failure:
   * `trySend` returns the failure instead.
   */
  send(backend: string): Response {
    return this.trySend(backend).unwrap();
  }

  /** `send`, with a failure (an unknown backend, a refused connection, a timeout) returned as the error. */
  trySend(backend: string): Result<Response> {
    const name = utf8(backend);
    clearDetail();
    const status = req.send_v2(this.handle, this.takeBody(), changetype<usize>(name), name.byteLength, DETAIL, OUT, OUT + 4);
    if (status != Status.OK) return Result.err<Response>(failedSend(status, backend));
    return Result.ok<Response>(new Response(200, load<u32>(OUT), load<u32>(OUT, 4)));
  }

  /** Starts sending the request to `backend` and returns at once; `wait()` or `select` for the response. */
  sendAsync(backend: string): PendingRequest {
    const name = utf8(backend);
    const status = req.send_async(this.handle, this.takeBody(), changetype<usize>(name), name.byteLength, OUT);
    check(status, "send to backend " + backend);
    return new PendingRequest(load<u32>(OUT), backend);
  }

  private takeBody(): u32 {
    if (this.bodyHandle == INVALID_HANDLE) this.bodyHandle = new Body().handle;
    const handle = this.bodyHandle;
    this.bodyHandle = INVALID_HANDLE;
    return handle;
  }
}

/** A request on its way to a backend. */
export class PendingRequest {
  handle: u32;
  /** The backend it went to (for messages). */
  readonly backend: string;

  constructor(handle: u32, backend: string) {
    this.handle = handle;
    this.backend = backend;
  }

  /** Whether the response's headers have arrived (`wait()` would not block). */
  isReady(): bool {
    check(async_io.is_ready(this.handle, OUT), "poll request");
    return load<u32>(OUT) != 0;
  }

  /** Waits for the response; stops the request on failure (`tryWait` returns it instead). */
  wait(): Response {
    return this.tryWait().unwrap();
  }

  tryWait(): Result<Response> {
    clearDetail();
    const status = req.pending_req_wait_v2(this.handle, DETAIL, OUT, OUT + 4);
    this.handle = INVALID_HANDLE;
    if (status != Status.OK) return Result.err<Response>(failedSend(status, this.backend));
    return Result.ok<Response>(new Response(200, load<u32>(OUT), load<u32>(OUT, 4)));
  }

  /**
   * Waits until the first of `pending` completes. That one is used up (its
   * `index` is in the answer); the others stay pending, to select again.
   */
  static select(pending: PendingRequest[]): Selected {
    if (pending.length == 0) {
      FastlyError.of(Status.INVAL, "select over no requests").raise();
    }
    const handles = new StaticArray<u32>(pending.length);
    for (let i = 0; i < pending.length; i++) handles[i] = pending[i].handle;
    clearDetail();
    const status = req.pending_req_select_v2(changetype<usize>(handles), <u32>pending.length, DETAIL, OUT, OUT + 4, OUT + 8);
    check(status, "select requests");
    const index = <i32>load<u32>(OUT);
    const resp = load<u32>(OUT, 4);
    const done = pending[index];
    done.handle = INVALID_HANDLE;
    const backend = done.backend;
    // A failed request is reported done with no response.
    if (resp == INVALID_HANDLE) return new Selected(index, Result.err<Response>(failedSend(Status.ERROR, backend)));
    return new Selected(index, Result.ok<Response>(new Response(200, resp, load<u32>(OUT, 8))));
  }
}

/** What `PendingRequest.select` found: which request finished, and its response or failure. */
export class Selected {
  readonly index: i32;
  readonly result: Result<Response>;

  constructor(index: i32, result: Result<Response>) {
    this.index = index;
    this.result = result;
  }
}

/** Decodes `%XX` escapes and `+` (a space) of a URL component; malformed escapes stay as they are. */
export function decodeComponent(text: string): string {
  if (text.indexOf("%") < 0 && text.indexOf("+") < 0) return text;
  const source = utf8(text);
  const from = changetype<usize>(source);
  const n = source.byteLength;
  const out = new ArrayBuffer(n);
  const to = changetype<usize>(out);
  let length = 0;
  for (let i = 0; i < n; i++) {
    let c = load<u8>(from + i);
    if (c == 0x2b) {
      c = 0x20;
    } else if (c == 0x25 && i + 2 < n) {
      const hi = hexValue(load<u8>(from + i + 1));
      const lo = hexValue(load<u8>(from + i + 2));
      if (hi >= 0 && lo >= 0) {
        c = <u8>((hi << 4) | lo);
        i += 2;
      }
    }
    store<u8>(to + length++, c);
  }
  return String.UTF8.decodeUnsafe(to, length);
}

function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return c - 0x30;
  c |= 0x20; // lower case
  if (c - 0x61 < 6) return c - 0x61 + 10;
  return -1;
}
