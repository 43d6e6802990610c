// Bodies beyond the basics: trailers in both directions, streaming request
// bodies to an origin, known lengths and appending bodies.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { wat } from "../helpers/wat.ts";

/** Imports and helpers shared by the guests below. Out-values live at 0..64, strings from 256. */
const PRELUDE = `
  (import "fastly_http_req" "body_downstream_get" (func $downstream (param i32 i32) (result i32)))
  (import "fastly_http_req" "new" (func $req_new (param i32) (result i32)))
  (import "fastly_http_req" "uri_set" (func $uri_set (param i32 i32 i32) (result i32)))
  (import "fastly_http_req" "method_set" (func $method_set (param i32 i32 i32) (result i32)))
  (import "fastly_http_req" "send_async_streaming" (func $send_async_streaming (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_req" "pending_req_wait" (func $wait (param i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "new" (func $resp_new (param i32) (result i32)))
  (import "fastly_http_resp" "header_insert" (func $resp_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send_downstream (param i32 i32 i32) (result i32)))
  (import "fastly_http_body" "new" (func $body_new (param i32) (result i32)))
  (import "fastly_http_body" "read" (func $body_read (param i32 i32 i32 i32) (result i32)))
  (import "fastly_http_body" "write" (func $body_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_body" "append" (func $body_append (param i32 i32) (result i32)))
  (import "fastly_http_body" "close" (func $body_close (param i32) (result i32)))
  (import "fastly_http_body" "known_length" (func $known_length (param i32 i32) (result i32)))
  (import "fastly_http_body" "trailer_append" (func $trailer_append (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_body" "trailer_value_get" (func $trailer_value_get (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $resp (mut i32) (i32.const 0))
  ;; Status codes to headers: "x-status-N: <code>" where the name is at 256 + 16*N.
  (data (i32.const 256) "x-status-0")
  (data (i32.const 272) "x-status-1")
  (data (i32.const 288) "x-status-2")
  (data (i32.const 304) "x-status-3")
  (data (i32.const 320) "0123456789")
  (func $new_resp (drop (call $resp_new (i32.const 60))) (global.set $resp (i32.load (i32.const 60))))
  ;; Records a status (0..99) as a response header.
  (func $record (param $slot i32) (param $status i32)
    (i32.store8 (i32.const 340) (i32.add (i32.const 48) (i32.div_u (local.get $status) (i32.const 10))))
    (i32.store8 (i32.const 341) (i32.add (i32.const 48) (i32.rem_u (local.get $status) (i32.const 10))))
    (drop (call $resp_header (global.get $resp) (i32.add (i32.const 256) (i32.mul (local.get $slot) (i32.const 16))) (i32.const 10) (i32.const 340) (i32.const 2))))
  ;; Reads a body to its end into memory at 65536; returns the length.
  (func $read_all (param $body i32) (result i32) (local $total i32)
    (loop $more
      (drop (call $body_read (local.get $body) (i32.add (i32.const 65536) (local.get $total)) (i32.const 4096) (i32.const 48)))
      (local.set $total (i32.add (local.get $total) (i32.load (i32.const 48))))
      (br_if $more (i32.ne (i32.load (i32.const 48)) (i32.const 0))))
    (local.get $total))
`;

/** Reads the client body to its end, then answers its "x-checksum" trailer (status of an early read in x-status-0). */
const TRAILERS_IN = wat(`(module ${PRELUDE}
  (data (i32.const 400) "x-checksum")
  (func (export "_start") (local $body i32) (local $len i32)
    (call $new_resp)
    (drop (call $downstream (i32.const 0) (i32.const 4)))
    (local.set $body (i32.load (i32.const 4)))
    (call $record (i32.const 0) (call $trailer_value_get (local.get $body) (i32.const 400) (i32.const 10) (i32.const 1024) (i32.const 64) (i32.const 52)))
    (drop (call $read_all (local.get $body)))
    (call $record (i32.const 1) (call $trailer_value_get (local.get $body) (i32.const 400) (i32.const 10) (i32.const 1024) (i32.const 64) (i32.const 52)))
    (drop (call $body_new (i32.const 8)))
    (drop (call $body_write (i32.load (i32.const 8)) (i32.const 1024) (i32.load (i32.const 52)) (i32.const 0) (i32.const 48)))
    (drop (call $send_downstream (global.get $resp) (i32.load (i32.const 8)) (i32.const 0)))))
`);

/** Streams a response with a trailer. */
const TRAILERS_OUT = wat(`(module ${PRELUDE}
  (data (i32.const 400) "x-digest")
  (data (i32.const 416) "abc123")
  (data (i32.const 432) "streamed body")
  (func (export "_start") (local $body i32)
    (call $new_resp)
    (drop (call $body_new (i32.const 8)))
    (local.set $body (i32.load (i32.const 8)))
    (drop (call $send_downstream (global.get $resp) (local.get $body) (i32.const 1)))
    (drop (call $body_write (local.get $body) (i32.const 432) (i32.const 13) (i32.const 0) (i32.const 48)))
    (drop (call $trailer_append (local.get $body) (i32.const 400) (i32.const 8) (i32.const 416) (i32.const 6)))
    (drop (call $body_close (local.get $body)))))
`);

/** Sends a POST to the origin whose body it writes after the send (send_async_streaming), then answers the origin's reply. */
const STREAMING_UPLOAD = wat(`(module ${PRELUDE}
  (data (i32.const 400) "origin")
  (data (i32.const 416) "http://origin.test/upload")
  (data (i32.const 448) "POST")
  (data (i32.const 464) "part-one;")
  (data (i32.const 480) "part-two;")
  (func (export "_start") (local $req i32) (local $body i32)
    (drop (call $req_new (i32.const 12)))
    (local.set $req (i32.load (i32.const 12)))
    (drop (call $uri_set (local.get $req) (i32.const 416) (i32.const 25)))
    (drop (call $method_set (local.get $req) (i32.const 448) (i32.const 4)))
    (drop (call $body_new (i32.const 8)))
    (local.set $body (i32.load (i32.const 8)))
    (drop (call $body_write (local.get $body) (i32.const 464) (i32.const 9) (i32.const 0) (i32.const 48)))
    (drop (call $send_async_streaming (local.get $req) (local.get $body) (i32.const 400) (i32.const 6) (i32.const 16)))
    (drop (call $body_write (local.get $body) (i32.const 480) (i32.const 9) (i32.const 0) (i32.const 48)))
    (drop (call $body_close (local.get $body)))
    (drop (call $wait (i32.load (i32.const 16)) (i32.const 20) (i32.const 24)))
    (drop (call $send_downstream (i32.load (i32.const 20)) (i32.load (i32.const 24)) (i32.const 0)))))
`);

/** Answers the client body's known length (x-status-0 = status, body = length as 8 decimal digits), after appending "!" to it. */
const KNOWN_LENGTH = wat(`(module ${PRELUDE}
  (data (i32.const 400) "!")
  (func $digits (param $n i32) (local $i i32)
    (local.set $i (i32.const 7))
    (loop $next
      (i32.store8 (i32.add (i32.const 2048) (local.get $i)) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $next (i32.ge_s (local.get $i) (i32.const 0)))))
  (func (export "_start") (local $extra i32)
    (call $new_resp)
    (drop (call $downstream (i32.const 0) (i32.const 4)))
    (drop (call $body_new (i32.const 8)))
    (local.set $extra (i32.load (i32.const 8)))
    (drop (call $body_write (local.get $extra) (i32.const 400) (i32.const 1) (i32.const 0) (i32.const 48)))
    (call $record (i32.const 0) (call $body_append (i32.load (i32.const 4)) (local.get $extra)))
    (call $record (i32.const 1) (call $known_length (i32.load (i32.const 4)) (i32.const 40)))
    (call $digits (i32.load (i32.const 40)))
    (drop (call $body_new (i32.const 8)))
    (drop (call $body_write (i32.load (i32.const 8)) (i32.const 2048) (i32.const 8) (i32.const 0) (i32.const 48)))
    (drop (call $body_append (i32.load (i32.const 8)) (i32.load (i32.const 4))))
    (drop (call $send_downstream (global.get $resp) (i32.load (i32.const 8)) (i32.const 0)))))
`);

/** A raw HTTP/1.1 exchange, to send and see trailers. */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; chunks?: string[]; trailers?: Record<string, string> }) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string; trailers: Record<string, unknown> }>((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, trailers: res.trailers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    if (options.trailers) req.addTrailers(options.trailers);
    req.end();
  });
}

describe("bodies", () => {
  let origin: Origin;
  const servers: TestServer[] = [];
  const start = async (wasm: Uint8Array) => {
    const server = await serve(wasm, { backends: { origin: origin.url } });
    servers.push(server);
    return server;
  };
  beforeAll(async () => {
    origin = await startOrigin((req, res, body) => {
      res.end(`origin got ${req.method} ${req.url} ${req.headers["transfer-encoding"] ?? "length " + req.headers["content-length"]}: ${body}`);
    });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await origin.close();
  });

  it("gives the client's trailers once the body has been read (again before)", async () => {
    const server = await start(TRAILERS_IN);
    const response = await rawRequest(server.url + "/", {
      method: "POST",
      headers: { "transfer-encoding": "chunked", trailer: "x-checksum" },
      chunks: ["some ", "data"],
      trailers: { "x-checksum": "c0ffee" },
    });
    expect(response.headers["x-status-0"]).toBe("14"); // again: the body is not read yet
    expect(response.headers["x-status-1"]).toBe("00");
    expect(response.body).toBe("c0ffee");
  });

  it("sends the guest's trailers after a streamed body", async () => {
    const server = await start(TRAILERS_OUT);
    const response = await rawRequest(server.url + "/", {});
    expect(response.body).toBe("streamed body");
    expect(response.headers["transfer-encoding"]).toBe("chunked");
    expect(response.trailers).toEqual({ "x-digest": "abc123" });
  });

  it("streams a request body to the origin as the guest writes it", async () => {
    const server = await start(STREAMING_UPLOAD);
    const response = await server.get("/");
    expect(await response.text()).toBe("origin got POST /upload chunked: part-one;part-two;");
  });

  it("knows a body's length when the client declared it, and appends bodies", async () => {
    const server = await start(KNOWN_LENGTH);
    const sized = await server.get("/", { method: "POST", body: "hello" });
    expect(sized.headers.get("x-status-0")).toBe("00");
    expect(sized.headers.get("x-status-1")).toBe("00");
    expect(await sized.text()).toBe("00000006hello!");
    const chunked = await rawRequest(server.url + "/", { method: "POST", headers: { "transfer-encoding": "chunked" }, chunks: ["abc"] });
    expect(chunked.headers["x-status-1"]).toBe("10"); // none: a chunked body has no known length
    expect(chunked.body).toBe("00000000abc!");
  });
});
