// Pending requests (poll, select, header edits, forwarding with
// send_downstream_pending), async_io readiness, response framing modes and
// fastly_compute_runtime, each through a WAT guest that reports exact values.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../helpers/origin.ts";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { rawRequest } from "../helpers/raw-client.ts";
import { Results } from "../helpers/results.ts";
import { wat } from "../helpers/wat.ts";

/**
 * Imports, a results body and `$emit` (writes a u32 to it) shared by the
 * guests. Memory: 0..255 out-values, 256.. scratch, 512.. strings, 4096.. buffers.
 */
const PRELUDE = `
  (import "fastly_http_req" "new" (func $req_new (param i32) (result i32)))
  (import "fastly_http_req" "uri_set" (func $uri_set (param i32 i32 i32) (result i32)))
  (import "fastly_http_req" "send_async" (func $send_async (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_req" "pending_req_poll" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "fastly_http_req" "pending_req_wait" (func $wait (param i32 i32 i32) (result i32)))
  (import "fastly_http_req" "pending_req_header_insert" (func $edit_insert (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_req" "pending_req_header_remove" (func $edit_remove (param i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "new" (func $resp_new (param i32) (result i32)))
  (import "fastly_http_resp" "header_insert" (func $resp_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "framing_headers_mode_set" (func $framing (param i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send_downstream (param i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream_pending" (func $send_pending (param i32) (result i32)))
  (import "fastly_http_body" "new" (func $body_new (param i32) (result i32)))
  (import "fastly_http_body" "write" (func $body_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_async_io" "select" (func $select (param i32 i32 i32 i32) (result i32)))
  (import "fastly_async_io" "is_ready" (func $is_ready (param i32 i32) (result i32)))
  (import "fastly_compute_runtime" "get_vcpu_ms" (func $vcpu (param i32) (result i32)))
  (import "fastly_compute_runtime" "get_heap_mib" (func $heap (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "origin")
  (data (i32.const 528) "http://origin.test/slow")
  (global $results (mut i32) (i32.const 0))
  (func $init (drop (call $body_new (i32.const 200))) (global.set $results (i32.load (i32.const 200))))
  (func $emit (param $v i32)
    (i32.store (i32.const 256) (local.get $v))
    (drop (call $body_write (global.get $results) (i32.const 256) (i32.const 4) (i32.const 0) (i32.const 260))))
  (func $finish
    (drop (call $resp_new (i32.const 204)))
    (drop (call $send_downstream (i32.load (i32.const 204)) (global.get $results) (i32.const 0))))
  ;; Starts a GET to the origin's /slow: returns the pending handle.
  (func $start_slow (result i32)
    (drop (call $req_new (i32.const 208)))
    (drop (call $uri_set (i32.load (i32.const 208)) (i32.const 528) (i32.const 23)))
    (drop (call $body_new (i32.const 212)))
    (drop (call $send_async (i32.load (i32.const 208)) (i32.load (i32.const 212)) (i32.const 512) (i32.const 6) (i32.const 216)))
    (i32.load (i32.const 216)))
`;

/** poll, is_ready and select on an origin request that takes 300 ms. */
const POLLING = wat(`(module ${PRELUDE}
  (func (export "_start") (local $p i32)
    (call $init)
    (local.set $p (call $start_slow))
    ;; Not done yet: is_done 0 and both handles INVALID.
    (call $emit (call $poll (local.get $p) (i32.const 0) (i32.const 4) (i32.const 8)))
    (call $emit (i32.load (i32.const 0)))
    (call $emit (i32.load (i32.const 4)))
    (call $emit (i32.load (i32.const 8)))
    (call $emit (call $is_ready (local.get $p) (i32.const 12)))
    (call $emit (i32.load (i32.const 12)))
    ;; A 50 ms select times out; one without a timeout returns its index.
    (i32.store (i32.const 16) (local.get $p))
    (call $emit (call $select (i32.const 16) (i32.const 1) (i32.const 50) (i32.const 20)))
    (call $emit (i32.load (i32.const 20)))
    (call $emit (call $select (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 20)))
    (call $emit (i32.load (i32.const 20)))
    (call $emit (call $is_ready (local.get $p) (i32.const 12)))
    (call $emit (i32.load (i32.const 12)))
    ;; Now done: poll completes it, and the handle is consumed.
    (call $emit (call $poll (local.get $p) (i32.const 0) (i32.const 4) (i32.const 8)))
    (call $emit (i32.load (i32.const 0)))
    (call $emit (call $poll (local.get $p) (i32.const 0) (i32.const 4) (i32.const 8)))
    (call $emit (call $vcpu (i32.const 24)))
    (call $emit (call $heap (i32.const 32)))
    (call $emit (i32.load (i32.const 32)))
    (call $finish)))
`);

/** Forwards the origin's answer with send_downstream_pending and queued header edits. */
const FORWARD = wat(`(module ${PRELUDE}
  (data (i32.const 600) "x-edge")
  (data (i32.const 608) "yes")
  (data (i32.const 616) "x-origin")
  (data (i32.const 632) "x-only-errors")
  (func (export "_start") (local $p i32)
    (local.set $p (call $start_slow))
    (drop (call $edit_insert (local.get $p) (i32.const 600) (i32.const 6) (i32.const 608) (i32.const 3) (i32.const 0)))
    (drop (call $edit_remove (local.get $p) (i32.const 616) (i32.const 8) (i32.const 1)))
    (drop (call $edit_insert (local.get $p) (i32.const 632) (i32.const 13) (i32.const 608) (i32.const 3) (i32.const 2)))
    (drop (call $send_pending (local.get $p)))))
`);

/** Sends "hello" with a Content-Length the guest set, in the framing mode given by the path's length. */
function framed(manual: boolean, contentLength: string): Uint8Array {
  return wat(`(module ${PRELUDE}
    (data (i32.const 600) "content-length")
    (data (i32.const 616) "${contentLength}")
    (data (i32.const 640) "hello")
    (func (export "_start")
      (drop (call $resp_new (i32.const 0)))
      (drop (call $resp_header (i32.load (i32.const 0)) (i32.const 600) (i32.const 14) (i32.const 616) (i32.const ${contentLength.length})))
      (drop (call $framing (i32.load (i32.const 0)) (i32.const ${manual ? 1 : 0})))
      (drop (call $body_new (i32.const 4)))
      (drop (call $body_write (i32.load (i32.const 4)) (i32.const 640) (i32.const 5) (i32.const 0) (i32.const 8)))
      (drop (call $send_downstream (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 0)))))
  `);
}

describe("pending requests, readiness and framing", () => {
  let origin: Origin;
  let closedPort: number;
  const servers: TestServer[] = [];
  const start = async (wasm: Uint8Array, backend?: string) => {
    const server = await serve(wasm, { backends: { origin: backend ?? origin.url }, workers: 1 });
    servers.push(server);
    return server;
  };
  beforeAll(async () => {
    origin = await startOrigin(async (_req, res) => {
      await sleep(300);
      res.setHeader("x-origin", "1");
      res.end("slow answer");
    });
    const closed = await startOrigin(() => {});
    closedPort = closed.port;
    await closed.close();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await origin.close();
  });

  it("polls, probes and selects on a request in flight", async () => {
    const server = await start(POLLING);
    const r = await Results.of(await server.get("/"));
    expect([r.u32(), r.u32(), r.u32(), r.u32()]).toEqual([0, 0, 0xfffffffe, 0xfffffffe]); // poll: ok, not done
    expect([r.u32(), r.u32()]).toEqual([0, 0]); // is_ready: ok, not ready
    expect([r.u32(), r.u32()]).toEqual([0, 0xffffffff]); // select with 50 ms: timeout
    expect([r.u32(), r.u32()]).toEqual([0, 0]); // select forever: index 0
    expect([r.u32(), r.u32()]).toEqual([0, 1]); // is_ready: ready
    expect([r.u32(), r.u32()]).toEqual([0, 1]); // poll: done
    expect(r.u32()).toBe(3); // the pending handle was consumed: badf
    expect(r.u32()).toBe(0); // get_vcpu_ms
    expect([r.u32(), r.u32()]).toEqual([0, 1]); // get_heap_mib: one 64 KiB page rounds up to 1 MiB
  });

  it("forwards a pending response with send_downstream_pending, applying the header edits for real responses", async () => {
    const server = await start(FORWARD);
    const response = await server.get("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-edge")).toBe("yes");
    expect(response.headers.get("x-origin")).toBeNull();
    expect(response.headers.get("x-only-errors")).toBeNull();
    expect(await response.text()).toBe("slow answer");
  });

  it("answers 503 when the pending request fails, with the edits meant for errors", async () => {
    const server = await start(FORWARD, `http://127.0.0.1:${closedPort}`);
    const response = await server.get("/");
    expect(response.status).toBe(503);
    expect(response.headers.get("x-edge")).toBe("yes");
    expect(response.headers.get("x-only-errors")).toBe("yes");
  });

  it("frames automatically unless the guest asks to frame from its own headers", async () => {
    const automatic = await start(framed(false, "999"));
    const auto = await rawRequest(automatic.url + "/");
    expect(auto.headers["content-length"]).toBe("5");
    expect(auto.body.toString()).toBe("hello");

    const manual = await start(framed(true, "5"));
    const exact = await rawRequest(manual.url + "/");
    expect(exact.headers["content-length"]).toBe("5");
    expect(exact.body.toString()).toBe("hello");
  });
});
