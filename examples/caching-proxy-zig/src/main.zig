//! A caching reverse proxy with the Outpost Zig SDK: every request goes to
//! the backend "origin". The host caches the answers as their headers allow
//! (Cache-Control, Surrogate-Control, Expires; an hour when they say
//! nothing), so a repeated request is answered from the cache without
//! reaching the origin. Requests under /api/ always go to the origin (a pass
//! override).
const std = @import("std");
const outpost = @import("outpost");

pub fn main() void {
    handle() catch |err| outpost.respond(500, "text/plain", @errorName(err)) catch {};
}

fn handle() !void {
    const incoming = try outpost.Request.downstream();
    const req = incoming.request;
    const url = outpost.Url.parse(try req.uri(outpost.allocator));
    if (std.mem.startsWith(u8, url.path, "/api/")) try req.setCacheOverride(.{ .pass = true });

    const resp = req.send(incoming.body, "origin") catch {
        return outpost.respond(502, "text/plain", "origin unreachable\n");
    };
    try resp.setHeader("x-served-by", "caching-proxy-zig");
    try resp.sendToClient();
}
