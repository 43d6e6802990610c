//! URIs: the parts of the absolute URI the host gives for a request.
const std = @import("std");
const outpost = @import("outpost.zig");
const Allocator = std.mem.Allocator;
const Error = outpost.Error;

/// The parts of a URI, as slices of it.
pub const Url = struct {
    /// "http://example.com:8080", empty for a relative URI.
    origin: []const u8,
    /// "/a/b", at least "/".
    path: []const u8,
    /// "?q=1" with its '?', or empty.
    query: []const u8,

    pub fn parse(text: []const u8) Url {
        var rest: usize = 0;
        if (std.mem.indexOf(u8, text, "://")) |scheme| {
            const first = std.mem.indexOfAny(u8, text, "/?") orelse text.len;
            if (scheme < first) {
                rest = scheme + 3;
                while (rest < text.len and std.mem.indexOfScalar(u8, "/?#", text[rest]) == null) rest += 1;
            }
        }
        const q = std.mem.indexOfAnyPos(u8, text, rest, "?#") orelse text.len;
        const f = std.mem.indexOfScalarPos(u8, text, q, '#') orelse text.len;
        return .{
            .origin = text[0..rest],
            .path = if (q == rest) "/" else text[rest..q],
            .query = text[q..f],
        };
    }

    /// A query parameter, percent-decoded ('+' is a space), or null.
    pub fn queryParam(self: Url, a: Allocator, name: []const u8) Error!?[]u8 {
        if (self.query.len == 0) return null;
        var pairs = std.mem.splitScalar(u8, self.query[1..], '&');
        while (pairs.next()) |pair| {
            const eq = std.mem.indexOfScalar(u8, pair, '=');
            if (!std.mem.eql(u8, pair[0 .. eq orelse pair.len], name)) continue;
            const raw = if (eq) |i| pair[i + 1 ..] else "";
            var out = try std.ArrayListUnmanaged(u8).initCapacity(a, raw.len);
            var i: usize = 0;
            while (i < raw.len) : (i += 1) {
                const escaped = if (raw[i] == '%' and i + 2 < raw.len)
                    std.fmt.parseInt(u8, raw[i + 1 .. i + 3], 16) catch null
                else
                    null;
                if (escaped) |byte| {
                    out.appendAssumeCapacity(byte);
                    i += 2;
                } else {
                    out.appendAssumeCapacity(if (raw[i] == '+') ' ' else raw[i]);
                }
            }
            return try out.toOwnedSlice(a);
        }
        return null;
    }
};

test "Url.parse" {
    const u = Url.parse("http://example.com:8080/a/b?q=1#f");
    try std.testing.expectEqualStrings("http://example.com:8080", u.origin);
    try std.testing.expectEqualStrings("/a/b", u.path);
    try std.testing.expectEqualStrings("?q=1", u.query);
    const bare = Url.parse("https://example.com");
    try std.testing.expectEqualStrings("/", bare.path);
    try std.testing.expectEqualStrings("", bare.query);
    const relative = Url.parse("/x?y");
    try std.testing.expectEqualStrings("", relative.origin);
    try std.testing.expectEqualStrings("/x", relative.path);
}
