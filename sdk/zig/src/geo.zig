//! Geolocation: where an IP address is (`[local_server.geolocation]`).
const std = @import("std");
const outpost = @import("outpost.zig");
const abi = outpost.abi;
const Allocator = std.mem.Allocator;
const Error = outpost.Error;

/// The host's answer: a JSON object with fields such as `country_code`,
/// `continent`, `city`, `latitude`.
pub const Geo = struct {
    json: []u8,
    parsed: std.json.Parsed(std.json.Value),

    /// A string field, or null when absent or not a string.
    pub fn string(self: Geo, field: []const u8) ?[]const u8 {
        return switch (self.parsed.value.object.get(field) orelse return null) {
            .string => |s| s,
            else => null,
        };
    }

    /// A numeric field, or null when absent or not a number.
    pub fn number(self: Geo, field: []const u8) ?f64 {
        return switch (self.parsed.value.object.get(field) orelse return null) {
            .integer => |i| @floatFromInt(i),
            .float => |f| f,
            .number_string => |s| std.fmt.parseFloat(f64, s) catch null,
            else => null,
        };
    }
};

/// The address's JSON text, or null when the host knows nothing of it.
pub fn lookupJson(a: Allocator, ip: outpost.IpAddress) Error!?[]u8 {
    const Ctx = struct {
        ip: outpost.IpAddress,
        pub fn get(c: @This(), buf: [*]u8, cap: usize, n: *usize) u32 {
            return abi.fastly_geo.lookup(&c.ip.octets, c.ip.len, buf, cap, n);
        }
    };
    return outpost.getValue(a, 512, Ctx{ .ip = ip });
}

/// Where the address is, or null when the host knows nothing of it.
pub fn lookup(a: Allocator, ip: outpost.IpAddress) Error!?Geo {
    const json = try lookupJson(a, ip) orelse return null;
    const parsed = std.json.parseFromSlice(std.json.Value, a, json, .{}) catch |err| return switch (err) {
        error.OutOfMemory => error.OutOfMemory,
        else => error.InvalidJson,
    };
    if (parsed.value != .object) return error.InvalidJson;
    return .{ .json = json, .parsed = parsed };
}
