//! Hello world with the Outpost Zig SDK: a greeting from a config store,
//! personalised by a query parameter.
const std = @import("std");
const outpost = @import("outpost");

const a = outpost.allocator;

pub fn main() void {
    handle() catch |err| outpost.respond(500, "text/plain", @errorName(err)) catch {};
}

fn handle() !void {
    const req = (try outpost.Request.downstream()).request;
    const method = try req.method(a);
    if (!std.mem.eql(u8, method, "GET") and !std.mem.eql(u8, method, "HEAD")) {
        const resp = try outpost.Response.new();
        try resp.setStatus(405);
        try resp.setHeader("allow", "GET, HEAD");
        try resp.body.write("method not allowed\n");
        return resp.sendToClient();
    }
    const url = outpost.Url.parse(try req.uri(a));
    if (!std.mem.eql(u8, url.path, "/")) return outpost.respond(404, "text/plain", "not found\n");

    const settings = outpost.ConfigStore.open("settings") catch null;
    const greeting = if (settings) |store| try store.get(a, "greeting") else null;
    const name = try url.queryParam(a, "name");
    const text = try std.mem.concat(a, u8, &.{
        greeting orelse "Hello",
        ", ",
        if (name != null and name.?.len > 0) name.? else "world",
        "!\n",
    });
    try outpost.respond(200, "text/plain; charset=utf-8", text);
}
