//! A Compute app written with the Outpost Rust SDK (vendor/outpost-sdk).
use outpost_sdk::{Error, Request, Response};

fn handle(req: Request) -> Result<Response, Error> {
    match req.path().as_str() {
        "/" => Ok(Response::from_body("Hello from Outpost!\n").with_content_type("text/plain; charset=utf-8")),
        // To forward everything else to a backend declared in fastly.toml:
        //     _ => req.send("origin"),
        _ => Ok(Response::from_status(404).with_content_type("text/plain; charset=utf-8").with_body("not found\n")),
    }
}

fn main() {
    outpost_sdk::run(handle)
}
