//! The raw host calls: one Rust module per ABI module, named as the ABI names
//! it, with the flattened signatures of ABI-SUMMARY §9. Every function returns
//! a `fastly_status` (0 = OK); results are written through out-pointers.
//!
//! Nothing here is safe to call without care: pointers must point into this
//! instance's memory and out-pointers must be aligned. The rest of the crate
//! wraps these calls; applications should not need them, but they are public
//! for anything the wrappers do not cover.
#![allow(missing_docs)]
// The same name (`new`, `open`, `lookup`, ...) in different import modules
// is different imports; newer compilers warn about it all the same.
#![allow(clashing_extern_declarations)]

/// A handle to a host object (request, response, body, store, ...).
pub type Handle = u32;
/// The handle value no call ever hands out.
pub const INVALID_HANDLE: Handle = 0xFFFF_FFFE;

pub mod fastly_abi {
    #[link(wasm_import_module = "fastly_abi")]
    extern "C" {
        pub fn init(abi_version: u64) -> u32;
    }
}

pub mod fastly_http_req {
    use super::Handle;
    #[link(wasm_import_module = "fastly_http_req")]
    extern "C" {
        pub fn body_downstream_get(req_out: *mut Handle, body_out: *mut Handle) -> u32;
        pub fn new(req_out: *mut Handle) -> u32;
        pub fn close(req: Handle) -> u32;
        pub fn method_get(req: Handle, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
        pub fn method_set(req: Handle, ptr: *const u8, len: usize) -> u32;
        pub fn uri_get(req: Handle, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
        pub fn uri_set(req: Handle, ptr: *const u8, len: usize) -> u32;
        pub fn version_get(req: Handle, version_out: *mut u32) -> u32;
        pub fn version_set(req: Handle, version: u32) -> u32;
        pub fn header_names_get(req: Handle, buf: *mut u8, len: usize, cursor: u32, ending: *mut i64, nwritten: *mut usize) -> u32;
        pub fn header_value_get(req: Handle, name: *const u8, name_len: usize, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
        pub fn header_values_get(
            req: Handle,
            name: *const u8,
            name_len: usize,
            buf: *mut u8,
            len: usize,
            cursor: u32,
            ending: *mut i64,
            nwritten: *mut usize,
        ) -> u32;
        pub fn header_values_set(req: Handle, name: *const u8, name_len: usize, values: *const u8, values_len: usize) -> u32;
        pub fn header_insert(req: Handle, name: *const u8, name_len: usize, value: *const u8, value_len: usize) -> u32;
        pub fn header_append(req: Handle, name: *const u8, name_len: usize, value: *const u8, value_len: usize) -> u32;
        pub fn header_remove(req: Handle, name: *const u8, name_len: usize) -> u32;
        pub fn cache_override_v2_set(req: Handle, tag: u32, ttl: u32, swr: u32, sk: *const u8, sk_len: usize) -> u32;
        pub fn auto_decompress_response_set(req: Handle, encodings: u32) -> u32;
        pub fn framing_headers_mode_set(req: Handle, mode: u32) -> u32;
        pub fn send_v2(
            req: Handle,
            body: Handle,
            backend: *const u8,
            backend_len: usize,
            error_detail: *mut u8,
            resp_out: *mut Handle,
            body_out: *mut Handle,
        ) -> u32;
        pub fn send_async(req: Handle, body: Handle, backend: *const u8, backend_len: usize, pending_out: *mut Handle) -> u32;
        pub fn send_async_streaming(req: Handle, body: Handle, backend: *const u8, backend_len: usize, pending_out: *mut Handle) -> u32;
        pub fn pending_req_poll_v2(
            pending: Handle,
            error_detail: *mut u8,
            is_done_out: *mut u32,
            resp_out: *mut Handle,
            body_out: *mut Handle,
        ) -> u32;
        pub fn pending_req_wait_v2(pending: Handle, error_detail: *mut u8, resp_out: *mut Handle, body_out: *mut Handle) -> u32;
        pub fn pending_req_select_v2(
            handles: *const Handle,
            count: usize,
            error_detail: *mut u8,
            index_out: *mut u32,
            resp_out: *mut Handle,
            body_out: *mut Handle,
        ) -> u32;
        pub fn register_dynamic_backend(
            name: *const u8,
            name_len: usize,
            target: *const u8,
            target_len: usize,
            mask: u32,
            config: *const u8,
        ) -> u32;
    }
}

pub mod fastly_http_resp {
    use super::Handle;
    #[link(wasm_import_module = "fastly_http_resp")]
    extern "C" {
        pub fn new(resp_out: *mut Handle) -> u32;
        pub fn close(resp: Handle) -> u32;
        pub fn header_names_get(resp: Handle, buf: *mut u8, len: usize, cursor: u32, ending: *mut i64, nwritten: *mut usize) -> u32;
        pub fn header_value_get(resp: Handle, name: *const u8, name_len: usize, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
        pub fn header_values_get(
            resp: Handle,
            name: *const u8,
            name_len: usize,
            buf: *mut u8,
            len: usize,
            cursor: u32,
            ending: *mut i64,
            nwritten: *mut usize,
        ) -> u32;
        pub fn header_values_set(resp: Handle, name: *const u8, name_len: usize, values: *const u8, values_len: usize) -> u32;
        pub fn header_insert(resp: Handle, name: *const u8, name_len: usize, value: *const u8, value_len: usize) -> u32;
        pub fn header_append(resp: Handle, name: *const u8, name_len: usize, value: *const u8, value_len: usize) -> u32;
        pub fn header_remove(resp: Handle, name: *const u8, name_len: usize) -> u32;
        pub fn version_get(resp: Handle, version_out: *mut u32) -> u32;
        pub fn version_set(resp: Handle, version: u32) -> u32;
        pub fn status_get(resp: Handle, status_out: *mut u16) -> u32;
        pub fn status_set(resp: Handle, status: u32) -> u32;
        pub fn send_downstream(resp: Handle, body: Handle, streaming: u32) -> u32;
        pub fn framing_headers_mode_set(resp: Handle, mode: u32) -> u32;
    }
}

pub mod fastly_http_body {
    use super::Handle;
    #[link(wasm_import_module = "fastly_http_body")]
    extern "C" {
        pub fn new(body_out: *mut Handle) -> u32;
        pub fn read(body: Handle, buf: *mut u8, len: usize, nread_out: *mut usize) -> u32;
        /// `end`: 0 = back, 1 = front.
        pub fn write(body: Handle, buf: *const u8, len: usize, end: u32, nwritten_out: *mut usize) -> u32;
        pub fn append(dest: Handle, src: Handle) -> u32;
        pub fn close(body: Handle) -> u32;
        pub fn abandon(body: Handle) -> u32;
        pub fn known_length(body: Handle, length_out: *mut u64) -> u32;
    }
}

pub mod fastly_http_downstream {
    use super::Handle;
    #[link(wasm_import_module = "fastly_http_downstream")]
    extern "C" {
        pub fn downstream_client_ip_addr(req: Handle, octets: *mut u8, nbytes_out: *mut usize) -> u32;
        pub fn downstream_server_ip_addr(req: Handle, octets: *mut u8, nbytes_out: *mut usize) -> u32;
        pub fn downstream_client_request_id(req: Handle, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
    }
}

pub mod fastly_log {
    use super::Handle;
    #[link(wasm_import_module = "fastly_log")]
    extern "C" {
        pub fn endpoint_get(name: *const u8, name_len: usize, endpoint_out: *mut Handle) -> u32;
        pub fn write(endpoint: Handle, msg: *const u8, msg_len: usize, nwritten_out: *mut usize) -> u32;
    }
}

pub mod fastly_config_store {
    use super::Handle;
    #[link(wasm_import_module = "fastly_config_store")]
    extern "C" {
        pub fn open(name: *const u8, name_len: usize, store_out: *mut Handle) -> u32;
        pub fn get(store: Handle, key: *const u8, key_len: usize, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
    }
}

pub mod fastly_secret_store {
    use super::Handle;
    #[link(wasm_import_module = "fastly_secret_store")]
    extern "C" {
        pub fn open(name: *const u8, name_len: usize, store_out: *mut Handle) -> u32;
        pub fn get(store: Handle, key: *const u8, key_len: usize, secret_out: *mut Handle) -> u32;
        pub fn plaintext(secret: Handle, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
        pub fn from_bytes(buf: *const u8, len: usize, secret_out: *mut Handle) -> u32;
    }
}

pub mod fastly_kv_store {
    use super::Handle;
    #[link(wasm_import_module = "fastly_kv_store")]
    extern "C" {
        pub fn open(name: *const u8, name_len: usize, store_out: *mut Handle) -> u32;
        pub fn lookup(store: Handle, key: *const u8, key_len: usize, mask: u32, config: *const u8, handle_out: *mut Handle) -> u32;
        pub fn lookup_wait_v2(
            handle: Handle,
            body_out: *mut Handle,
            metadata: *mut u8,
            metadata_len: usize,
            nwritten: *mut usize,
            generation_out: *mut u64,
            kv_error_out: *mut u32,
        ) -> u32;
        pub fn insert(store: Handle, key: *const u8, key_len: usize, body: Handle, mask: u32, config: *const u8, handle_out: *mut Handle) -> u32;
        pub fn insert_wait(handle: Handle, kv_error_out: *mut u32) -> u32;
        pub fn delete(store: Handle, key: *const u8, key_len: usize, mask: u32, config: *const u8, handle_out: *mut Handle) -> u32;
        pub fn delete_wait(handle: Handle, kv_error_out: *mut u32) -> u32;
        pub fn list(store: Handle, mask: u32, config: *const u8, handle_out: *mut Handle) -> u32;
        pub fn list_wait(handle: Handle, body_out: *mut Handle, kv_error_out: *mut u32) -> u32;
    }
}

pub mod fastly_geo {
    #[link(wasm_import_module = "fastly_geo")]
    extern "C" {
        pub fn lookup(octets: *const u8, octets_len: usize, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
    }
}

pub mod fastly_backend {
    #[link(wasm_import_module = "fastly_backend")]
    extern "C" {
        pub fn exists(name: *const u8, name_len: usize, exists_out: *mut u32) -> u32;
        pub fn is_healthy(name: *const u8, name_len: usize, health_out: *mut u32) -> u32;
        pub fn is_dynamic(name: *const u8, name_len: usize, dynamic_out: *mut u32) -> u32;
        pub fn is_ssl(name: *const u8, name_len: usize, ssl_out: *mut u32) -> u32;
        pub fn get_host(name: *const u8, name_len: usize, buf: *mut u8, len: usize, nwritten: *mut usize) -> u32;
        pub fn get_port(name: *const u8, name_len: usize, port_out: *mut u16) -> u32;
    }
}

pub mod fastly_async_io {
    use super::Handle;
    #[link(wasm_import_module = "fastly_async_io")]
    extern "C" {
        /// `timeout_ms` 0 waits for ever; a timeout answers index `u32::MAX`.
        pub fn select(handles: *const Handle, count: usize, timeout_ms: u32, ready_index_out: *mut u32) -> u32;
        pub fn is_ready(handle: Handle, ready_out: *mut u32) -> u32;
    }
}

pub mod fastly_purge {
    #[link(wasm_import_module = "fastly_purge")]
    extern "C" {
        pub fn purge_surrogate_key(key: *const u8, key_len: usize, mask: u32, options: *const u8) -> u32;
    }
}
