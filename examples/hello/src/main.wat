;; The smallest Compute app: answers every request with a greeting, written
;; against the raw host-call ABI.
(module
  (import "fastly_http_resp" "new" (func $resp_new (param i32) (result i32)))
  (import "fastly_http_resp" "header_insert" (func $resp_header_insert (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_body" "new" (func $body_new (param i32) (result i32)))
  (import "fastly_http_body" "write" (func $body_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send_downstream (param i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  ;; Out-parameters live at 0..16; strings from 64.
  (data (i32.const 64) "content-type")
  (data (i32.const 80) "text/plain; charset=utf-8")
  (data (i32.const 112) "Hello from Outpost!\n")

  (func (export "_start")
    (drop (call $resp_new (i32.const 0)))
    (drop (call $resp_header_insert (i32.load (i32.const 0)) (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 25)))
    (drop (call $body_new (i32.const 4)))
    (drop (call $body_write (i32.load (i32.const 4)) (i32.const 112) (i32.const 20) (i32.const 0) (i32.const 8)))
    (drop (call $send_downstream (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 0)))))
