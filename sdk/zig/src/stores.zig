//! Log endpoints, config stores and KV stores.
const std = @import("std");
const outpost = @import("outpost.zig");
const abi = outpost.abi;
const Allocator = std.mem.Allocator;
const Error = outpost.Error;
const check = outpost.check;

/// Writes one line to a named log endpoint (`outpost serve` prints
/// `endpoint :: message`).
pub fn log(endpoint: []const u8, message: []const u8) Error!void {
    var h: u32 = abi.invalid_handle;
    var n: usize = 0;
    try check(abi.fastly_log.endpoint_get(endpoint.ptr, endpoint.len, &h));
    try check(abi.fastly_log.write(h, message.ptr, message.len, &n));
}

/// `[local_server.config_stores.<name>]`: string keys to string values.
pub const ConfigStore = struct {
    handle: u32,

    /// error.BadHandle when there is no such store.
    pub fn open(name: []const u8) Error!ConfigStore {
        var h: u32 = abi.invalid_handle;
        try check(abi.fastly_config_store.open(name.ptr, name.len, &h));
        return .{ .handle = h };
    }

    /// The value, or null when the key is absent.
    pub fn get(self: ConfigStore, a: Allocator, key: []const u8) Error!?[]u8 {
        const Ctx = struct {
            h: u32,
            key: []const u8,
            pub fn get(c: @This(), buf: [*]u8, cap: usize, n: *usize) u32 {
                return abi.fastly_config_store.get(c.h, c.key.ptr, c.key.len, buf, cap, n);
            }
        };
        return outpost.getValue(a, 256, Ctx{ .h = self.handle, .key = key });
    }
};

/// `[local_server.kv_stores.<name>]`: keys to byte values.
pub const KvStore = struct {
    handle: u32,

    pub fn open(name: []const u8) Error!KvStore {
        var h: u32 = abi.invalid_handle;
        try check(abi.fastly_kv_store.open(name.ptr, name.len, &h));
        return .{ .handle = h };
    }

    /// The value, or null when the key is absent (metadata is not returned).
    pub fn get(self: KvStore, a: Allocator, key: []const u8) Error!?[]u8 {
        var lookup: u32 = abi.invalid_handle;
        const config = abi.KvLookupConfig{};
        try check(abi.fastly_kv_store.lookup(self.handle, key.ptr, key.len, 0, &config, &lookup));
        var metadata = try a.alloc(u8, 64);
        defer a.free(metadata);
        var body: u32 = abi.invalid_handle;
        var kv_error: u32 = 0;
        while (true) {
            var n: usize = 0;
            var generation: u64 = 0;
            const status = abi.fastly_kv_store.lookup_wait_v2(lookup, &body, metadata.ptr, metadata.len, &n, &generation, &kv_error);
            if (status == abi.fastly_status.buflen and n > metadata.len) {
                metadata = try a.realloc(metadata, n);
                continue;
            }
            try check(status);
            break;
        }
        if (kv_error == abi.kv_error.not_found) return null;
        if (kv_error != abi.kv_error.ok) return error.HostError;
        const value_body = outpost.Body{ .handle = body };
        const value = try value_body.readAll(a);
        try value_body.close();
        return value;
    }

    /// Stores `value` under `key`, replacing any.
    pub fn insert(self: KvStore, key: []const u8, value: []const u8) Error!void {
        const body = try outpost.Body.new();
        try body.write(value);
        const config = abi.KvInsertConfig{};
        var pending: u32 = abi.invalid_handle;
        var kv_error: u32 = 0;
        try check(abi.fastly_kv_store.insert(self.handle, key.ptr, key.len, body.handle, 0, &config, &pending));
        try check(abi.fastly_kv_store.insert_wait(pending, &kv_error));
        if (kv_error != abi.kv_error.ok) return error.HostError;
    }
};
