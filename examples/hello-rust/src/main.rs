//! Hello world with the Outpost Rust SDK: a greeting from a config store,
//! personalised by a query parameter.
use outpost_sdk::{ConfigStore, Error, Request, Response};

fn handle(req: Request) -> Result<Response, Error> {
    if req.method() != "GET" && req.method() != "HEAD" {
        return Ok(Response::from_status(405).with_header("allow", "GET, HEAD").with_body("method not allowed\n"));
    }
    match req.path().as_str() {
        "/" => {
            let greeting = ConfigStore::open("settings")?.get("greeting")?.unwrap_or_else(|| "Hello".to_string());
            let name = req.query_param("name").unwrap_or_else(|| "world".to_string());
            Ok(Response::from_body(format!("{}, {}!\n", greeting, name)).with_content_type("text/plain; charset=utf-8"))
        }
        _ => Ok(Response::from_status(404).with_content_type("text/plain; charset=utf-8").with_body("not found\n")),
    }
}

fn main() {
    outpost_sdk::run(handle)
}
