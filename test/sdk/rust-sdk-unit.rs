// The Rust SDK's modules that need no host, compiled natively with their
// unit tests (rustc --test); run by test/sdk/rust-sdk.test.ts.
#[allow(dead_code)]
#[path = "../../sdk/rust/src/json.rs"]
mod json;
#[allow(dead_code)]
#[path = "../../sdk/rust/src/uri.rs"]
mod uri;
