//! Outpost's Zig SDK: a Fastly Compute app in Zig.
//!
//!     const outpost = @import("outpost");
//!
//!     pub fn main() void {
//!         outpost.respond(200, "text/plain", "hello\n") catch {};
//!     }
//!
//! Every call that talks to the host returns `Error!T`; values that may be
//! absent (a header, a config key) are optionals. Functions that return bytes
//! take an allocator; `outpost.allocator` is a good default (an instance
//! lives for one request, so nothing needs freeing). `abi` is the raw layer:
//! every host call of the ABI, its enums, flags and records.
const std = @import("std");
pub const abi = @import("abi.zig");
const values = @import("values.zig");
const stores = @import("stores.zig");
const geolocation = @import("geo.zig");

pub const Allocator = std.mem.Allocator;
pub const allocator = std.heap.wasm_allocator;

pub const getValue = values.getValue;
pub const List = values.List;
pub const Url = @import("url.zig").Url;
const ReqHeaders = values.Headers(abi.fastly_http_req);
const RespHeaders = values.Headers(abi.fastly_http_resp);

pub const log = stores.log;
pub const ConfigStore = stores.ConfigStore;
pub const KvStore = stores.KvStore;
pub const geo = geolocation;
pub const Geo = geolocation.Geo;

/// The ABI's status codes, as errors (`ok` is success).
pub const Error = error{
    HostError,
    InvalidArgument,
    BadHandle,
    BufferTooSmall,
    Unsupported,
    BadAlignment,
    HttpInvalid,
    HttpUser,
    HttpIncomplete,
    None,
    HttpHeadTooLarge,
    HttpInvalidStatus,
    LimitExceeded,
    Again,
    UnknownStatus,
    OutOfMemory,
    InvalidJson,
};

/// Turns a host call's status into an error.
pub fn check(status: u32) Error!void {
    return switch (status) {
        0 => {},
        1 => error.HostError,
        2 => error.InvalidArgument,
        3 => error.BadHandle,
        4 => error.BufferTooSmall,
        5 => error.Unsupported,
        6 => error.BadAlignment,
        7 => error.HttpInvalid,
        8 => error.HttpUser,
        9 => error.HttpIncomplete,
        10 => error.None,
        11 => error.HttpHeadTooLarge,
        12 => error.HttpInvalidStatus,
        13 => error.LimitExceeded,
        14 => error.Again,
        else => error.UnknownStatus,
    };
}

/// The client's request and its body.
pub const Incoming = struct {
    request: Request,
    body: Body,
};

/// Cache settings for a request sent to a backend (the host's HTTP cache).
pub const CacheOverride = struct {
    /// Bypass the cache.
    pass: bool = false,
    /// Time to live in seconds, instead of the response's.
    ttl: ?u32 = null,
    /// stale-while-revalidate in seconds, instead of the response's.
    stale_while_revalidate: ?u32 = null,
    /// Keep the object off disk.
    pci: bool = false,
    /// Added to the object's surrogate keys.
    surrogate_key: []const u8 = "",
};

pub const Request = struct {
    handle: u32,

    /// The client's request.
    pub fn downstream() Error!Incoming {
        var req: u32 = abi.invalid_handle;
        var body: u32 = abi.invalid_handle;
        try check(abi.fastly_http_req.body_downstream_get(&req, &body));
        return .{ .request = .{ .handle = req }, .body = .{ .handle = body } };
    }

    /// A new request: GET, no headers. Set its URI before sending it.
    pub fn new() Error!Request {
        var req: u32 = abi.invalid_handle;
        try check(abi.fastly_http_req.new(&req));
        return .{ .handle = req };
    }

    pub fn method(self: Request, a: Allocator) Error![]u8 {
        const Ctx = struct {
            h: u32,
            pub fn get(c: @This(), buf: [*]u8, cap: usize, n: *usize) u32 {
                return abi.fastly_http_req.method_get(c.h, buf, cap, n);
            }
        };
        return (try getValue(a, 16, Ctx{ .h = self.handle })).?;
    }

    pub fn setMethod(self: Request, value: []const u8) Error!void {
        return check(abi.fastly_http_req.method_set(self.handle, value.ptr, value.len));
    }

    /// The absolute URI, e.g. "http://example.com/a?b".
    pub fn uri(self: Request, a: Allocator) Error![]u8 {
        const Ctx = struct {
            h: u32,
            pub fn get(c: @This(), buf: [*]u8, cap: usize, n: *usize) u32 {
                return abi.fastly_http_req.uri_get(c.h, buf, cap, n);
            }
        };
        return (try getValue(a, 256, Ctx{ .h = self.handle })).?;
    }

    pub fn setUri(self: Request, value: []const u8) Error!void {
        return check(abi.fastly_http_req.uri_set(self.handle, value.ptr, value.len));
    }

    /// The header's first value, or null.
    pub fn header(self: Request, a: Allocator, name: []const u8) Error!?[]const u8 {
        return ReqHeaders.first(a, self.handle, name);
    }

    pub fn headerValues(self: Request, a: Allocator, name: []const u8) Error!List {
        return ReqHeaders.values(a, self.handle, name);
    }

    /// Every header name once, in lower case.
    pub fn headerNames(self: Request, a: Allocator) Error!List {
        return ReqHeaders.names(a, self.handle);
    }

    /// Replaces every value of the header.
    pub fn setHeader(self: Request, name: []const u8, value: []const u8) Error!void {
        return ReqHeaders.set(self.handle, name, value);
    }

    pub fn appendHeader(self: Request, name: []const u8, value: []const u8) Error!void {
        return ReqHeaders.append(self.handle, name, value);
    }

    /// error.InvalidArgument when the header is absent.
    pub fn removeHeader(self: Request, name: []const u8) Error!void {
        return ReqHeaders.remove(self.handle, name);
    }

    pub fn setCacheOverride(self: Request, o: CacheOverride) Error!void {
        var tag: u32 = 0;
        if (o.pass) tag |= abi.cache_override_tag.pass;
        if (o.ttl != null) tag |= abi.cache_override_tag.ttl;
        if (o.stale_while_revalidate != null) tag |= abi.cache_override_tag.stale_while_revalidate;
        if (o.pci) tag |= abi.cache_override_tag.pci;
        const key = o.surrogate_key;
        return check(abi.fastly_http_req.cache_override_v2_set(self.handle, tag, o.ttl orelse 0, o.stale_while_revalidate orelse 0, key.ptr, key.len));
    }

    /// Sends the request and `body` (both consumed) to the named backend and
    /// waits for the response's headers; through the host's HTTP cache.
    pub fn send(self: Request, body: Body, backend: []const u8) Error!Response {
        var resp: u32 = abi.invalid_handle;
        var resp_body: u32 = abi.invalid_handle;
        try check(abi.fastly_http_req.send(self.handle, body.handle, backend.ptr, backend.len, &resp, &resp_body));
        return .{ .handle = resp, .body = .{ .handle = resp_body } };
    }

    /// Starts sending; `wait` on the result.
    pub fn sendAsync(self: Request, body: Body, backend: []const u8) Error!Pending {
        var pending: u32 = abi.invalid_handle;
        try check(abi.fastly_http_req.send_async(self.handle, body.handle, backend.ptr, backend.len, &pending));
        return .{ .handle = pending };
    }

    /// The client's address (on the client's request only).
    pub fn clientIp(self: Request) Error!IpAddress {
        var ip = IpAddress{};
        try check(abi.fastly_http_downstream.downstream_client_ip_addr(self.handle, &ip.octets, &ip.len));
        return ip;
    }
};

pub const Pending = struct {
    handle: u32,

    pub fn wait(self: Pending) Error!Response {
        var resp: u32 = abi.invalid_handle;
        var body: u32 = abi.invalid_handle;
        try check(abi.fastly_http_req.pending_req_wait(self.handle, &resp, &body));
        return .{ .handle = resp, .body = .{ .handle = body } };
    }
};

/// An IPv4 (4 octets) or IPv6 (16 octets) address.
pub const IpAddress = struct {
    octets: [16]u8 = [_]u8{0} ** 16,
    len: usize = 0,

    pub fn bytes(self: *const IpAddress) []const u8 {
        return self.octets[0..self.len];
    }
};

pub const Body = struct {
    handle: u32,

    pub fn new() Error!Body {
        var body: u32 = abi.invalid_handle;
        try check(abi.fastly_http_body.new(&body));
        return .{ .handle = body };
    }

    /// Up to `buf.len` bytes; 0 at the end of the body.
    pub fn read(self: Body, buf: []u8) Error!usize {
        var n: usize = 0;
        try check(abi.fastly_http_body.read(self.handle, buf.ptr, buf.len, &n));
        return n;
    }

    /// The whole body, to its end.
    pub fn readAll(self: Body, a: Allocator) Error![]u8 {
        var out = std.ArrayListUnmanaged(u8){};
        errdefer out.deinit(a);
        while (true) {
            try out.ensureUnusedCapacity(a, 4096);
            const n = try self.read(out.unusedCapacitySlice());
            if (n == 0) break;
            out.items.len += n;
        }
        return out.toOwnedSlice(a);
    }

    /// Appends all of `data`.
    pub fn write(self: Body, data: []const u8) Error!void {
        var rest = data;
        while (rest.len > 0) {
            var n: usize = 0;
            try check(abi.fastly_http_body.write(self.handle, rest.ptr, rest.len, abi.body_write_end.back, &n));
            if (n == 0 or n > rest.len) return error.HostError;
            rest = rest[n..];
        }
    }

    /// Ends the body; a streaming one is finished successfully.
    pub fn close(self: Body) Error!void {
        return check(abi.fastly_http_body.close(self.handle));
    }
};

pub const Response = struct {
    handle: u32,
    body: Body,

    /// A new response (200, no headers) with an empty body.
    pub fn new() Error!Response {
        var resp: u32 = abi.invalid_handle;
        try check(abi.fastly_http_resp.new(&resp));
        return .{ .handle = resp, .body = try Body.new() };
    }

    pub fn status(self: Response) Error!u16 {
        var value: u16 = 0;
        try check(abi.fastly_http_resp.status_get(self.handle, &value));
        return value;
    }

    pub fn setStatus(self: Response, value: u16) Error!void {
        return check(abi.fastly_http_resp.status_set(self.handle, value));
    }

    pub fn header(self: Response, a: Allocator, name: []const u8) Error!?[]const u8 {
        return RespHeaders.first(a, self.handle, name);
    }

    pub fn headerValues(self: Response, a: Allocator, name: []const u8) Error!List {
        return RespHeaders.values(a, self.handle, name);
    }

    pub fn headerNames(self: Response, a: Allocator) Error!List {
        return RespHeaders.names(a, self.handle);
    }

    pub fn setHeader(self: Response, name: []const u8, value: []const u8) Error!void {
        return RespHeaders.set(self.handle, name, value);
    }

    pub fn appendHeader(self: Response, name: []const u8, value: []const u8) Error!void {
        return RespHeaders.append(self.handle, name, value);
    }

    pub fn removeHeader(self: Response, name: []const u8) Error!void {
        return RespHeaders.remove(self.handle, name);
    }

    /// Sends the response and its whole body to the client (both consumed).
    pub fn sendToClient(self: Response) Error!void {
        return check(abi.fastly_http_resp.send_downstream(self.handle, self.body.handle, 0));
    }

    /// Sends the headers now; write to `self.body`, then `close` it.
    pub fn streamToClient(self: Response) Error!void {
        return check(abi.fastly_http_resp.send_downstream(self.handle, self.body.handle, 1));
    }
};

/// A complete response in one call.
pub fn respond(status: u16, content_type: ?[]const u8, body: []const u8) Error!void {
    const resp = try Response.new();
    try resp.setStatus(status);
    if (content_type) |t| try resp.setHeader("content-type", t);
    try resp.body.write(body);
    return resp.sendToClient();
}

/// Sends the client's request to `backend` and the answer back to the client
/// (cached by the host as the backend's headers allow).
pub fn proxy(backend: []const u8) Error!void {
    const incoming = try Request.downstream();
    const resp = try incoming.request.send(incoming.body, backend);
    return resp.sendToClient();
}
