//! `outpost-sdk`: write Fastly Compute apps in Rust, with nothing but std.
//!
//! The crate wraps the Compute host-call ABI (what Outpost and the platform
//! implement) in plain Rust types: [`Request`], [`Response`], [`Body`] as
//! `Read`/`Write` streams, backends, the readthrough cache's overrides,
//! config/secret/KV stores, log endpoints and geolocation. The raw imports
//! are in [`abi`].
//!
//! ```ignore
//! use outpost_sdk::{Request, Response, Error};
//!
//! fn handle(req: Request) -> Result<Response, Error> {
//!     match req.path().as_str() {
//!         "/" => Ok(Response::from_body("hello\n").with_content_type("text/plain")),
//!         _ => req.send("origin"),
//!     }
//! }
//!
//! fn main() {
//!     outpost_sdk::run(handle)
//! }
//! ```
pub mod abi;
mod backend;
mod body;
mod buffers;
mod cache_override;
mod config_store;
mod error;
mod geo;
mod headers;
pub mod json;
mod kv_store;
mod log;
mod pending;
mod purge;
mod request;
mod response;
mod secret_store;
mod uri;

use std::fmt::Display;

pub use backend::{Backend, BackendHealth, DynamicBackend};
pub use body::{Body, StreamingBody};
pub use cache_override::CacheOverride;
pub use config_store::ConfigStore;
pub use error::{Error, KvError, SendErrorCause, Status};
pub use geo::{geo_lookup, Geo};
pub use kv_store::{InsertMode, InsertOptions, KvEntry, KvPage, KvStore, ListOptions};
pub use log::LogEndpoint;
pub use pending::{select, PendingRequest, Poll};
pub use purge::{purge_surrogate_key, soft_purge_surrogate_key};
pub use request::Request;
pub use response::Response;
pub use secret_store::{Secret, SecretStore};

/// Tells the host which ABI version the guest speaks (1). `run` calls it;
/// a `main` of your own may too. Hosts treat it as advisory.
pub fn init() {
    unsafe { abi::fastly_abi::init(1) };
}

/// Runs a request handler: takes the client's request, calls `handler`, and
/// sends what it returns to the client. An `Err` becomes a
/// `500 Internal Server Error` and the error is written to standard error
/// (the server's log). Handlers that stream their response write their own
/// `main` with `Request::from_client` and `Response::stream_to_client`.
pub fn run<E: Display>(handler: impl FnOnce(Request) -> Result<Response, E>) {
    init();
    match handler(Request::from_client()) {
        Ok(response) => {
            if let Err(error) = response.send_to_client() {
                eprintln!("sending the response failed: {}", error);
            }
        }
        Err(error) => {
            eprintln!("request failed: {}", error);
            let response = Response::from_status(500).with_content_type("text/plain; charset=utf-8").with_body("Internal Server Error\n");
            let _ = response.send_to_client();
        }
    }
}
