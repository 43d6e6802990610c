//! The host-call retry loops behind the getters (ABI-SUMMARY §4.2, §4.3)
//! and the header calls shared by requests and responses.
const std = @import("std");
const outpost = @import("outpost.zig");
const abi = outpost.abi;
const Allocator = std.mem.Allocator;
const Error = outpost.Error;
const check = outpost.check;

/// A single-value getter (ABI-SUMMARY §4.2): `ctx.get(buf, cap, &n)` is
/// asked again with the length the host reports while the buffer is too
/// small. Null when the host says there is no value (`none`).
pub fn getValue(a: Allocator, initial: usize, ctx: anytype) Error!?[]u8 {
    var cap = initial;
    while (true) {
        const buf = try a.alloc(u8, cap);
        var n: usize = 0;
        const status = ctx.get(buf.ptr, buf.len, &n);
        if (status == abi.fastly_status.buflen) {
            a.free(buf);
            cap = if (n > cap) n else cap * 2;
            continue;
        }
        if (status == abi.fastly_status.none) {
            a.free(buf);
            return null;
        }
        check(status) catch |err| {
            a.free(buf);
            return err;
        };
        return try a.realloc(buf, n);
    }
}

/// A multi-value getter (ABI-SUMMARY §4.3): items from the cursor on, each
/// followed by a NUL, until the host says there are no more.
pub fn getList(a: Allocator, ctx: anytype) Error!List {
    var out = std.ArrayListUnmanaged(u8){};
    errdefer out.deinit(a);
    var want: usize = 128;
    var cursor: u32 = 0;
    while (true) {
        try out.ensureUnusedCapacity(a, want);
        const room = out.unusedCapacitySlice();
        var ending: i64 = -1;
        var n: usize = 0;
        const status = ctx.get(room.ptr, room.len, cursor, &ending, &n);
        if (status == abi.fastly_status.buflen or (status == abi.fastly_status.ok and n == 0 and ending >= 0)) {
            want = if (n > room.len) n else room.len * 2;
            continue;
        }
        try check(status);
        out.items.len += n;
        if (ending < 0) break;
        cursor = @intCast(ending);
    }
    return .{ .bytes = try out.toOwnedSlice(a) };
}

/// Header names or values: items each followed by a NUL.
pub const List = struct {
    bytes: []u8,

    pub fn iterator(self: List) Iterator {
        return .{ .rest = self.bytes };
    }

    pub fn count(self: List) usize {
        return std.mem.count(u8, self.bytes, "\x00");
    }

    pub const Iterator = struct {
        rest: []const u8,

        pub fn next(self: *Iterator) ?[]const u8 {
            const end = std.mem.indexOfScalar(u8, self.rest, 0) orelse return null;
            const item = self.rest[0..end];
            self.rest = self.rest[end + 1 ..];
            return item;
        }
    };
};

/// Header calls of requests (`abi.fastly_http_req`) and responses
/// (`abi.fastly_http_resp`), which have the same shape.
pub fn Headers(comptime M: type) type {
    return struct {
        pub fn names(a: Allocator, h: u32) Error!List {
            const Ctx = struct {
                h: u32,
                pub fn get(c: @This(), buf: [*]u8, cap: usize, cursor: u32, ending: *i64, n: *usize) u32 {
                    return M.header_names_get(c.h, buf, cap, cursor, ending, n);
                }
            };
            return getList(a, Ctx{ .h = h });
        }

        pub fn values(a: Allocator, h: u32, name: []const u8) Error!List {
            const Ctx = struct {
                h: u32,
                name: []const u8,
                pub fn get(c: @This(), buf: [*]u8, cap: usize, cursor: u32, ending: *i64, n: *usize) u32 {
                    return M.header_values_get(c.h, c.name.ptr, c.name.len, buf, cap, cursor, ending, n);
                }
            };
            return getList(a, Ctx{ .h = h, .name = name });
        }

        pub fn first(a: Allocator, h: u32, name: []const u8) Error!?[]const u8 {
            const list = try values(a, h, name);
            var it = list.iterator();
            return it.next();
        }

        pub fn set(h: u32, name: []const u8, value: []const u8) Error!void {
            return check(M.header_insert(h, name.ptr, name.len, value.ptr, value.len));
        }

        pub fn append(h: u32, name: []const u8, value: []const u8) Error!void {
            return check(M.header_append(h, name.ptr, name.len, value.ptr, value.len));
        }

        pub fn remove(h: u32, name: []const u8) Error!void {
            return check(M.header_remove(h, name.ptr, name.len));
        }
    };
}
