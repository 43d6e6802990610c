//! The parity app (sdk/parity/README.md) with the Rust SDK.
use outpost_sdk::{Error, Request, Response};

fn text(status: u16, body: &str) -> Response {
    Response::from_status(status).with_content_type("text/plain").with_body(body)
}

fn echo(req: Request) -> Result<Response, Error> {
    let body = req.into_body_bytes()?;
    Ok(Response::from_status(200)
        .with_content_type("application/octet-stream")
        .with_header("x-body-length", body.len().to_string())
        .with_body(body))
}

fn headers(req: &Request) -> Response {
    let mut names = req.header_names();
    names.sort();
    names.dedup();
    let listing: String = names.iter().map(|name| format!("{}\n", name)).collect();
    text(200, &listing)
}

fn proxy(mut req: Request, rest: &str) -> Result<Response, Error> {
    let target = if rest.starts_with('/') { rest.to_string() } else { format!("/{}", rest) };
    req.set_path_and_query(&target);
    match req.send("origin") {
        Ok(resp) => Ok(resp.with_header("x-parity-proxy", "1")),
        Err(_) => Ok(text(502, "origin unreachable\n")),
    }
}

fn status(code: &str) -> Response {
    let valid = code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit());
    match code.parse::<u16>() {
        Ok(status) if valid && (200..=599).contains(&status) => text(status, &format!("status {}\n", code)),
        _ => text(400, "bad status\n"),
    }
}

fn handle(req: Request) -> Result<Response, Error> {
    let path = req.path();
    let path_and_query = req.path_and_query();
    match path.as_str() {
        "/hello" => Ok(text(200, "hello, world\n").with_content_type("text/plain; charset=utf-8")),
        "/echo" => echo(req),
        "/headers" => Ok(headers(&req)),
        "/proxy" => proxy(req, &path_and_query["/proxy".len()..]),
        _ if path.starts_with("/proxy/") => proxy(req, &path_and_query["/proxy".len()..]),
        _ if path.starts_with("/status/") => Ok(status(&path["/status/".len()..])),
        _ => Ok(text(404, "not found\n")),
    }
}

fn main() {
    outpost_sdk::run(handle)
}
