//! HTTP Message Signatures (RFC 9421) with `hmac-sha256`, on the verifying
//! side: parse `Signature-Input` and `Signature`, rebuild the signature base
//! from the request, check the parameters against a policy and compare MACs.
//! No host calls here, so the logic is tested natively as well as in the app.
use crate::base64;
use crate::sfv::{self, Item, Member, Params};
use crate::sha256::{constant_time_eq, hmac_sha256, sha256};

/// What the verifier needs of a request.
pub struct Message<'a> {
    pub method: &'a str,
    /// The absolute target URI (`http://host/path?query`).
    pub target_uri: &'a str,
    /// Every value of a header (lower-case name), in order.
    pub header: &'a dyn Fn(&str) -> Vec<String>,
}

/// How old or new a signature may be.
pub struct Policy {
    /// A signature `created` longer ago than this is refused.
    pub max_age_secs: u64,
    /// How far in the future `created` may be (clocks differ).
    pub clock_skew_secs: u64,
}

/// A signature that verified.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub label: String,
    pub keyid: String,
    pub components: Vec<String>,
}

impl Verified {
    /// Whether the signature covers `component`.
    pub fn covers(&self, component: &str) -> bool {
        self.components.iter().any(|c| c == component)
    }
}

/// Why a request was refused, in words fit for the client.
pub type Failure = String;

/// Verifies the first signature named in `Signature-Input`. `key` returns
/// the shared secret of a key id, or `None` for an unknown key.
pub fn verify(msg: &Message, now: u64, policy: &Policy, key: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Verified, Failure> {
    let input = joined(msg, "signature-input").ok_or("missing Signature-Input header")?;
    let signature = joined(msg, "signature").ok_or("missing Signature header")?;
    let inputs = sfv::parse_dictionary(&input).map_err(|e| format!("malformed Signature-Input: {}", e))?;
    let signatures = sfv::parse_dictionary(&signature).map_err(|e| format!("malformed Signature: {}", e))?;
    let (label, member) = inputs.into_iter().next().ok_or("empty Signature-Input header")?;
    let (items, params) = match member {
        Member::InnerList(items, params) => (items, params),
        Member::Item(..) => return Err(format!("Signature-Input {} is not a list of components", label)),
    };
    let mac = match signatures.iter().find(|(l, _)| *l == label) {
        Some((_, Member::Item(Item::Bytes(mac), _))) => mac.clone(),
        Some(_) => return Err(format!("Signature {} is not a byte sequence", label)),
        None => return Err(format!("no signature labelled {} in the Signature header", label)),
    };

    let components = component_names(&items)?;
    check_coverage(&components, msg.target_uri)?;
    let keyid = check_params(&params, now, policy)?;
    let secret = key(&keyid).ok_or_else(|| format!("unknown key {:?}", keyid))?;

    let base = signature_base(msg, &components, &items, &params)?;
    if !constant_time_eq(&hmac_sha256(&secret, base.as_bytes()), &mac) {
        return Err("signature does not match".to_string());
    }
    Ok(Verified { label, keyid, components })
}

/// A header's values as one field value: each trimmed, joined by ", " (RFC 9421 §2.1).
fn joined(msg: &Message, name: &str) -> Option<String> {
    let values = (msg.header)(name);
    if values.is_empty() {
        return None;
    }
    Some(values.iter().map(|v| v.trim()).collect::<Vec<_>>().join(", "))
}

fn component_names(items: &[(Item, Params)]) -> Result<Vec<String>, Failure> {
    let mut names: Vec<String> = Vec::new();
    for (item, params) in items {
        let name = match item {
            Item::String(name) => name.clone(),
            _ => return Err("component identifiers must be strings".to_string()),
        };
        if !params.is_empty() {
            return Err(format!("component parameters are not supported ({})", name));
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!("component {:?} must be lower case", name));
        }
        if names.contains(&name) {
            return Err(format!("component {} is listed twice", name));
        }
        names.push(name);
    }
    Ok(names)
}

/// The signature must pin the method, the authority and the target: the
/// whole URI, or its path (and its query, when it has one).
fn check_coverage(components: &[String], target_uri: &str) -> Result<(), Failure> {
    let has = |name: &str| components.iter().any(|c| c == name);
    let has_query = target_uri.contains('?');
    let target = has("@target-uri") || (has("@path") && (!has_query || has("@query")));
    if !has("@method") || !has("@authority") || !target {
        return Err("the signature must cover @method, @authority and @target-uri (or @path, and @query when there is one)".to_string());
    }
    Ok(())
}

/// Checks `alg`, `created`, `expires`; returns `keyid`.
fn check_params(params: &Params, now: u64, policy: &Policy) -> Result<String, Failure> {
    let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    match param("alg") {
        None => {}
        Some(Item::String(alg)) if alg == "hmac-sha256" => {}
        Some(other) => return Err(format!("unsupported algorithm {}", sfv::serialize_item(other))),
    }
    let keyid = match param("keyid") {
        Some(Item::String(keyid)) => keyid.clone(),
        Some(_) => return Err("keyid must be a string".to_string()),
        None => return Err("missing keyid parameter".to_string()),
    };
    let created = match param("created") {
        Some(Item::Integer(t)) if *t >= 0 => *t as u64,
        Some(_) => return Err("created must be a non-negative integer".to_string()),
        None => return Err("missing created parameter".to_string()),
    };
    match param("expires") {
        Some(Item::Integer(t)) if *t >= 0 && now >= *t as u64 => return Err("signature expired".to_string()),
        None | Some(Item::Integer(0..)) => {}
        Some(_) => return Err("expires must be a non-negative integer".to_string()),
    }
    if created > now + policy.clock_skew_secs {
        return Err("signature created in the future".to_string());
    }
    if now > created + policy.max_age_secs {
        return Err(format!("signature too old (more than {} s)", policy.max_age_secs));
    }
    Ok(keyid)
}

/// The signature base (RFC 9421 §2.5): one line per component, then
/// `@signature-params` with the components and parameters serialized.
pub fn signature_base(msg: &Message, components: &[String], items: &[(Item, Params)], params: &Params) -> Result<String, Failure> {
    let mut base = String::new();
    for name in components {
        let value = component_value(msg, name)?;
        if value.contains(['\n', '\r']) {
            return Err(format!("component {} contains a line break", name));
        }
        base.push_str(&sfv::serialize_string(name));
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    let list: Vec<String> = items.iter().map(|(item, p)| sfv::serialize_item(item) + &sfv::serialize_params(p)).collect();
    base.push_str("\"@signature-params\": (");
    base.push_str(&list.join(" "));
    base.push(')');
    base.push_str(&sfv::serialize_params(params));
    Ok(base)
}

fn component_value(msg: &Message, name: &str) -> Result<String, Failure> {
    let uri = Uri::parse(msg.target_uri);
    Ok(match name {
        "@method" => msg.method.to_string(),
        "@target-uri" => msg.target_uri.to_string(),
        "@authority" => uri.authority(),
        "@scheme" => uri.scheme.to_ascii_lowercase(),
        "@path" => uri.path.to_string(),
        "@query" => format!("?{}", uri.query.unwrap_or("")),
        "@request-target" => match uri.query {
            Some(query) => format!("{}?{}", uri.path, query),
            None => uri.path.to_string(),
        },
        derived if derived.starts_with('@') => return Err(format!("unsupported component {}", derived)),
        field => joined(msg, field).ok_or_else(|| format!("missing component {}", field))?,
    })
}

/// The parts of an absolute URI a signature can cover.
struct Uri<'a> {
    scheme: &'a str,
    authority: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Uri<'a> {
    fn parse(uri: &'a str) -> Uri<'a> {
        let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(split);
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        Uri { scheme, authority, path: if path.is_empty() { "/" } else { path }, query }
    }

    /// Lower case, without the scheme's default port (RFC 9110 §4.2.3).
    fn authority(&self) -> String {
        let authority = self.authority.to_ascii_lowercase();
        let default_port = match self.scheme.to_ascii_lowercase().as_str() {
            "http" => ":80",
            "https" => ":443",
            _ => return authority,
        };
        authority.strip_suffix(default_port).map(str::to_string).unwrap_or(authority)
    }
}

/// Checks a `Content-Digest` header (RFC 9530) against the body: its
/// `sha-256` member must be the body's digest.
pub fn check_content_digest(header: &str, body: &[u8]) -> Result<(), Failure> {
    let digests = sfv::parse_dictionary(header).map_err(|e| format!("malformed Content-Digest: {}", e))?;
    match digests.iter().find(|(alg, _)| alg == "sha-256") {
        Some((_, Member::Item(Item::Bytes(digest), _))) if constant_time_eq(digest, &sha256(body)) => Ok(()),
        Some((_, Member::Item(Item::Bytes(_), _))) => Err("content-digest does not match the body".to_string()),
        Some(_) => Err("malformed Content-Digest".to_string()),
        None => Err("Content-Digest has no sha-256 digest".to_string()),
    }
}

/// `Content-Digest` for a body, as a signer would send it.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", base64::encode(&sha256(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy { max_age_secs: 300, clock_skew_secs: 60 };
    const NOW: u64 = 1_700_000_000;

    fn sign(base: &str, key: &[u8]) -> String {
        base64::encode(&hmac_sha256(key, base.as_bytes()))
    }

    fn request<'a>(headers: &'a [(&'a str, String)]) -> impl Fn(&str) -> Vec<String> + 'a {
        move |name: &str| headers.iter().filter(|(n, _)| *n == name).map(|(_, v)| v.clone()).collect()
    }

    /// RFC 9421 Appendix B.2.5: the request of B.2 signed with `hmac-sha256`.
    #[test]
    fn reproduces_the_rfc_9421_hmac_example() {
        let headers = vec![
            ("date", "Tue, 20 Apr 2021 02:07:55 GMT".to_string()),
            ("content-type", "application/json".to_string()),
        ];
        let header = request(&headers);
        let msg = Message { method: "POST", target_uri: "https://example.com/foo?param=Value&Pet=dog", header: &header };
        let input = sfv::parse_dictionary(r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#).unwrap();
        let (items, params) = match &input[0].1 {
            Member::InnerList(items, params) => (items.clone(), params.clone()),
            other => panic!("{:?}", other),
        };
        let components = component_names(&items).unwrap();
        let base = signature_base(&msg, &components, &items, &params).unwrap();
        assert_eq!(
            base,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@authority\": example.com\n\"content-type\": application/json\n\"@signature-params\": (\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\""
        );
        let key = base64::decode("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==").unwrap();
        assert_eq!(sign(&base, &key), "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=");
    }

    #[test]
    fn verifies_a_signature_and_refuses_tampering() {
        let params = format!(r#"("@method" "@authority" "@path" "content-digest");created={};keyid="k1";alg="hmac-sha256""#, NOW - 10);
        let digest = content_digest(b"{\"hello\": \"world\"}");
        let base = format!(
            "\"@method\": POST\n\"@authority\": example.com\n\"@path\": /foo\n\"content-digest\": {}\n\"@signature-params\": {}",
            digest, params
        );
        let headers = vec![
            ("signature-input", format!("sig1={}", params)),
            ("signature", format!("sig1=:{}:", sign(&base, b"secret"))),
            ("content-digest", digest.clone()),
        ];
        let header = request(&headers);
        let key = |id: &str| (id == "k1").then(|| b"secret".to_vec());
        let msg = Message { method: "POST", target_uri: "https://EXAMPLE.com:443/foo", header: &header };
        let verified = verify(&msg, NOW, &POLICY, &key).unwrap();
        assert_eq!(verified.keyid, "k1");
        assert!(verified.covers("content-digest"));
        assert!(check_content_digest(&digest, b"{\"hello\": \"world\"}").is_ok());
        assert!(check_content_digest(&digest, b"{\"hello\": \"World\"}").is_err());

        let msg = Message { method: "PUT", target_uri: "https://example.com/foo", header: &header };
        assert_eq!(verify(&msg, NOW, &POLICY, &key).unwrap_err(), "signature does not match");
        let msg = Message { method: "POST", target_uri: "https://example.com/foo", header: &header };
        assert!(verify(&msg, NOW + 400, &POLICY, &key).unwrap_err().contains("too old"));
        let other = |_: &str| None;
        assert!(verify(&msg, NOW, &POLICY, &other).unwrap_err().contains("unknown key"));
    }
}
