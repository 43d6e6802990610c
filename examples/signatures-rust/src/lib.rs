//! The host-independent half of the app: RFC 9421 verification with
//! `hmac-sha256`, and what it needs (SHA-256, HMAC, base64, structured
//! fields). `src/main.rs` connects it to the request. Being free of host
//! calls, it is unit-tested natively: `rustc --edition 2021 --test src/lib.rs`.
pub mod base64;
pub mod sfv;
pub mod sha256;
pub mod verify;
