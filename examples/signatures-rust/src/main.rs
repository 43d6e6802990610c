//! Verifies HTTP message signatures (RFC 9421, `hmac-sha256`) at the edge:
//! requests signed with a key from the `signing-keys` secret store go on to
//! the origin; anything else is answered 401 with the reason.
use std::time::{SystemTime, UNIX_EPOCH};

use outpost_sdk::{Error, Request, Response, SecretStore};
use signatures::verify::{self, Message, Policy};

const BACKEND: &str = "origin";
const KEYS: &str = "signing-keys";
const POLICY: Policy = Policy { max_age_secs: 300, clock_skew_secs: 60 };
/// The header that tells the origin which key signed the request.
const KEYID_HEADER: &str = "signature-keyid";

fn unauthorized(reason: &str) -> Response {
    Response::from_status(401)
        .with_content_type("text/plain; charset=utf-8")
        .with_body(format!("signature verification failed: {}\n", reason))
}

fn handle(mut req: Request) -> Result<Response, Error> {
    let keys = SecretStore::open(KEYS)?;
    let body = req.take_body().into_bytes()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);

    let method = req.method();
    let uri = req.uri();
    let header = |name: &str| req.header_all(name);
    let key = |keyid: &str| keys.get(keyid).ok().flatten().and_then(|secret| secret.plaintext().ok());
    let message = Message { method: &method, target_uri: &uri, header: &header };
    let verified = match verify::verify(&message, now, &POLICY, &key) {
        Ok(verified) => verified,
        Err(reason) => return Ok(unauthorized(&reason)),
    };
    // A body is only trusted through a signed digest of it.
    if verified.covers("content-digest") {
        let digest = req.header("content-digest").unwrap_or_default();
        if let Err(reason) = verify::check_content_digest(&digest, &body) {
            return Ok(unauthorized(&reason));
        }
    } else if !body.is_empty() {
        return Ok(unauthorized("the signature must cover content-digest when there is a body"));
    }

    req.set_header(KEYID_HEADER, &verified.keyid);
    req.set_body(body);
    // Responses to signed requests are not shared through the cache.
    req.set_pass(true);
    req.send(BACKEND)
}

fn main() {
    outpost_sdk::run(|mut req: Request| {
        // Only the edge may say who signed: drop the header if a client sent it.
        req.remove_header(KEYID_HEADER);
        handle(req)
    })
}
