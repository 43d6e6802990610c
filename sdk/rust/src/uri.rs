//! Pieces of a request URI. The host hands guests absolute URIs
//! (`http://host/path?query`); requests a guest makes may be relative.

/// Splits a URI into `scheme://authority` (empty when relative) and the
/// path with its query (`/` when the URI has none).
pub(crate) fn split(uri: &str) -> (&str, &str) {
    let scheme_end = match uri.find("://") {
        Some(i) => i,
        None => return ("", if uri.is_empty() { "/" } else { uri }),
    };
    let rest = &uri[scheme_end + 3..];
    match rest.find(['/', '?']) {
        Some(i) => uri.split_at(scheme_end + 3 + i),
        None => (uri, "/"),
    }
}

/// The path of a URI, without its query.
pub(crate) fn path(uri: &str) -> &str {
    let (_, path_and_query) = split(uri);
    let path = path_and_query.split('?').next().unwrap_or("");
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// The query of a URI, without the `?`.
pub(crate) fn query(uri: &str) -> Option<&str> {
    let (_, path_and_query) = split(uri);
    path_and_query.split_once('?').map(|(_, query)| query)
}

/// The authority (`host[:port]`) of an absolute URI.
pub(crate) fn authority(uri: &str) -> Option<&str> {
    let (origin, _) = split(uri);
    origin.split_once("://").map(|(_, authority)| authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_absolute_and_relative_uris() {
        assert_eq!(split("http://h:1/a/b?c=d"), ("http://h:1", "/a/b?c=d"));
        assert_eq!(split("http://h?q"), ("http://h", "?q"));
        assert_eq!(split("http://h"), ("http://h", "/"));
        assert_eq!(split("/x?y"), ("", "/x?y"));
        assert_eq!(path("http://h?q"), "/");
        assert_eq!(path("http://h/a?q"), "/a");
        assert_eq!(query("http://h/a?q=1&r"), Some("q=1&r"));
        assert_eq!(query("http://h/a"), None);
        assert_eq!(authority("https://Example.com:8443/x"), Some("Example.com:8443"));
        assert_eq!(authority("/x"), None);
    }
}
