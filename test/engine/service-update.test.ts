// Changing a service's data while it serves: new requests see the new
// version, and a request already running keeps the one it started with.
import { afterAll, beforeAll, expect, it } from "vitest";
import { serve, type TestServer } from "../helpers/outpost.ts";
import { wat } from "../helpers/wat.ts";

/** Answers its whole environment, one NUL-terminated VAR=value after another; `sleep` first when the path is /slow. */
const ENV_GUEST = wat(`
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "fastly_http_req" "body_downstream_get" (func $downstream (param i32 i32) (result i32)))
  (import "fastly_http_req" "uri_get" (func $uri_get (param i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "new" (func $resp_new (param i32) (result i32)))
  (import "fastly_http_body" "new" (func $body_new (param i32) (result i32)))
  (import "fastly_http_body" "write" (func $body_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; A URI ending in "w" waits 300 ms (a clock subscription) before reading the environment.
    (drop (call $downstream (i32.const 0) (i32.const 4)))
    (drop (call $uri_get (i32.load (i32.const 0)) (i32.const 512) (i32.const 256) (i32.const 8)))
    (if (i32.eq (i32.load8_u (i32.add (i32.const 511) (i32.load (i32.const 8)))) (i32.const 119))
      (then
        (i64.store (i32.const 136) (i64.const 300000000))
        (drop (call $poll (i32.const 112) (i32.const 160) (i32.const 1) (i32.const 200)))))
    (drop (call $sizes (i32.const 16) (i32.const 20)))
    (drop (call $environ (i32.const 1024) (i32.const 4096)))
    (drop (call $resp_new (i32.const 24)))
    (drop (call $body_new (i32.const 28)))
    (drop (call $body_write (i32.load (i32.const 28)) (i32.const 4096) (i32.load (i32.const 20)) (i32.const 0) (i32.const 32)))
    (drop (call $send (i32.load (i32.const 24)) (i32.load (i32.const 28)) (i32.const 0)))))
`);

let server: TestServer;
beforeAll(async () => {
  server = await serve(ENV_GUEST, { workers: 1 });
});
afterAll(() => server.close());

const version = async (path: string) => /FASTLY_SERVICE_VERSION=(\d+)/.exec(await (await server.get(path)).text())?.[1];

it("gives requests that start after an update the new service data, and running ones the old", async () => {
  expect(await version("/now")).toBe("0");
  const running = version("/w");
  await new Promise((resolve) => setTimeout(resolve, 100));
  const env = { FASTLY_SERVICE_VERSION: "7" };
  server.runtime.updateService({ env });
  expect(await running).toBe("0");
  expect(await version("/now")).toBe("7");
});
