//! A Compute app in Zig: greets on `/`, answers 404 elsewhere.
//! Build: see fastly.toml's [scripts].build; docs: vendor/outpost/README.md.
const std = @import("std");
const outpost = @import("outpost");

pub fn main() void {
    handle() catch |err| outpost.respond(500, "text/plain", @errorName(err)) catch {};
}

fn handle() !void {
    const incoming = try outpost.Request.downstream();
    const url = outpost.Url.parse(try incoming.request.uri(outpost.allocator));
    if (!std.mem.eql(u8, url.path, "/")) return outpost.respond(404, "text/plain", "not found\n");
    try outpost.respond(200, "text/plain; charset=utf-8", "Hello from Zig on Outpost!\n");
}
