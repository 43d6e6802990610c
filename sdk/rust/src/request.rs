//! HTTP requests: the client's, and those the guest sends to backends.
use std::mem::ManuallyDrop;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::abi::{fastly_http_downstream as downstream, fastly_http_req as ffi, Handle, INVALID_HANDLE};
use crate::body::{Body, StreamingBody};
use crate::buffers::{get_value, text};
use crate::cache_override::CacheOverride;
use crate::error::{check, Error, Status};
use crate::headers::{header_methods, REQUEST};
use crate::pending::{self, PendingRequest};
use crate::response::Response;
use crate::uri;

static CLIENT_TAKEN: AtomicBool = AtomicBool::new(false);

/// An HTTP request: the one the client sent (`Request::from_client`), or one
/// to send to a backend (`Request::new`, `Request::get`, ...).
///
/// Header names are case-insensitive and the host reports them lower case.
#[derive(Debug)]
pub struct Request {
    handle: Handle,
    body: Option<Body>,
    is_client: bool,
}

impl Request {
    /// The client's request, with its body streaming in. There is one per
    /// run, so this panics if called a second time.
    pub fn from_client() -> Request {
        if CLIENT_TAKEN.swap(true, Ordering::SeqCst) {
            panic!("Request::from_client() called twice: the client request can be taken once");
        }
        let (mut handle, mut body) = (INVALID_HANDLE, INVALID_HANDLE);
        let code = unsafe { ffi::body_downstream_get(&mut handle, &mut body) };
        if let Some(status) = Status::from_code(code) {
            panic!("fastly_http_req::body_downstream_get failed: {}", status);
        }
        Request { handle, body: Some(Body::from_handle(body)), is_client: true }
    }

    /// A new request with `method` and `uri` (absolute, or a path: the
    /// backend's address decides where it goes), no headers and no body.
    #[track_caller]
    pub fn new(method: &str, uri: &str) -> Request {
        let mut handle = INVALID_HANDLE;
        let code = unsafe { ffi::new(&mut handle) };
        if let Some(status) = Status::from_code(code) {
            panic!("fastly_http_req::new failed: {}", status);
        }
        let mut req = Request { handle, body: None, is_client: false };
        req.set_method(method);
        req.set_uri(uri);
        req
    }

    /// `Request::new("GET", uri)`.
    #[track_caller]
    pub fn get(uri: &str) -> Request {
        Request::new("GET", uri)
    }

    /// `Request::new("POST", uri)`.
    #[track_caller]
    pub fn post(uri: &str) -> Request {
        Request::new("POST", uri)
    }

    /// `Request::new("PUT", uri)`.
    #[track_caller]
    pub fn put(uri: &str) -> Request {
        Request::new("PUT", uri)
    }

    /// `Request::new("DELETE", uri)`.
    #[track_caller]
    pub fn delete(uri: &str) -> Request {
        Request::new("DELETE", uri)
    }

    /// A new request with this one's method, URI and headers, and no body.
    pub fn clone_without_body(&self) -> Request {
        let mut copy = Request::new(&self.method(), &self.uri());
        for name in self.header_names() {
            let values = self.header_all_bytes(&name);
            let values: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
            copy.set_header_all(&name, &values);
        }
        copy
    }

    /// The raw handle, for the `abi` module.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// Whether this is the client's request.
    pub fn is_from_client(&self) -> bool {
        self.is_client
    }

    /// The method (`GET`, `POST`, ...).
    pub fn method(&self) -> String {
        let bytes = get_value("fastly_http_req::method_get", 16, |buf, len, n| unsafe { ffi::method_get(self.handle, buf, len, n) });
        text(bytes.unwrap_or_default())
    }

    /// Sets the method. Panics if it is not a valid method token.
    #[track_caller]
    pub fn set_method(&mut self, method: &str) {
        let code = unsafe { ffi::method_set(self.handle, method.as_ptr(), method.len()) };
        if let Some(status) = Status::from_code(code) {
            panic!("invalid method {:?}: {}", method, status);
        }
    }

    /// `set_method`, for chaining.
    #[track_caller]
    pub fn with_method(mut self, method: &str) -> Request {
        self.set_method(method);
        self
    }

    /// The URI; the client's request has an absolute one (`http://host/path?query`).
    pub fn uri(&self) -> String {
        let bytes = get_value("fastly_http_req::uri_get", 256, |buf, len, n| unsafe { ffi::uri_get(self.handle, buf, len, n) });
        text(bytes.unwrap_or_default())
    }

    /// Sets the URI. Panics if it is not a valid URI.
    #[track_caller]
    pub fn set_uri(&mut self, uri: &str) {
        let code = unsafe { ffi::uri_set(self.handle, uri.as_ptr(), uri.len()) };
        if let Some(status) = Status::from_code(code) {
            panic!("invalid URI {:?}: {}", uri, status);
        }
    }

    /// `set_uri`, for chaining.
    #[track_caller]
    pub fn with_uri(mut self, uri: &str) -> Request {
        self.set_uri(uri);
        self
    }

    /// The URI's path, without the query (`/` at least).
    pub fn path(&self) -> String {
        uri::path(&self.uri()).to_string()
    }

    /// The URI's query, without the `?`.
    pub fn query(&self) -> Option<String> {
        uri::query(&self.uri()).map(str::to_string)
    }

    /// The path and query (`/a/b?c`).
    pub fn path_and_query(&self) -> String {
        let uri = self.uri();
        uri::split(&uri).1.to_string()
    }

    /// The value of query parameter `name` (not percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query()?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then(|| value.to_string())
        })
    }

    /// Replaces the path and query, keeping the scheme and authority.
    #[track_caller]
    pub fn set_path_and_query(&mut self, path_and_query: &str) {
        let uri = self.uri();
        let (origin, _) = uri::split(&uri);
        let slash = if path_and_query.starts_with('/') { "" } else { "/" };
        self.set_uri(&format!("{}{}{}", origin, slash, path_and_query));
    }

    /// The URI's authority (`host[:port]`), when it is absolute.
    pub fn authority(&self) -> Option<String> {
        uri::authority(&self.uri()).map(str::to_string)
    }

    header_methods!(REQUEST);

    /// Takes the body out (an empty one if there was none).
    pub fn take_body(&mut self) -> Body {
        self.body.take().unwrap_or_default()
    }

    /// Whether a body was set (the client's request always has one, maybe empty).
    pub fn has_body(&self) -> bool {
        self.body.is_some()
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = Some(body.into());
    }

    /// `set_body`, for chaining.
    pub fn with_body(mut self, body: impl Into<Body>) -> Request {
        self.set_body(body);
        self
    }

    /// Reads the whole body.
    pub fn into_body_bytes(mut self) -> Result<Vec<u8>, Error> {
        self.take_body().into_bytes()
    }

    /// Reads the whole body as UTF-8 text.
    pub fn into_body_string(mut self) -> Result<String, Error> {
        self.take_body().into_string()
    }

    /// A mutable reference to the body, to read or write it in place.
    pub fn body_mut(&mut self) -> &mut Body {
        self.body.get_or_insert_with(Body::new)
    }

    /// How the readthrough cache treats this request when it is sent.
    #[track_caller]
    pub fn set_cache_override(&mut self, cache: &CacheOverride) {
        let (tag, ttl, swr, key) = cache.to_abi();
        let code = unsafe { ffi::cache_override_v2_set(self.handle, tag, ttl, swr, key.as_ptr(), key.len()) };
        if let Some(status) = Status::from_code(code) {
            panic!("fastly_http_req::cache_override_v2_set failed: {}", status);
        }
    }

    /// `set_cache_override`, for chaining.
    #[track_caller]
    pub fn with_cache_override(mut self, cache: &CacheOverride) -> Request {
        self.set_cache_override(cache);
        self
    }

    /// Bypasses the cache for this request (`true`), or follows the origin again (`false`).
    #[track_caller]
    pub fn set_pass(&mut self, pass: bool) {
        self.set_cache_override(&if pass { CacheOverride::pass() } else { CacheOverride::none() });
    }

    /// Asks the host to gunzip a gzip-encoded backend response.
    pub fn set_auto_decompress_gzip(&mut self, on: bool) {
        unsafe { ffi::auto_decompress_response_set(self.handle, on as u32) };
    }

    /// The client's IP address (on the client request).
    pub fn client_ip(&self) -> Option<IpAddr> {
        ip_from(|octets, n| unsafe { downstream::downstream_client_ip_addr(self.handle, octets, n) })
    }

    /// The address the client connected to (on the client request).
    pub fn server_ip(&self) -> Option<IpAddr> {
        ip_from(|octets, n| unsafe { downstream::downstream_server_ip_addr(self.handle, octets, n) })
    }

    /// The host's identifier for the client request (on the client request).
    pub fn client_request_id(&self) -> Option<String> {
        let id = get_value("downstream_client_request_id", 64, |buf, len, n| unsafe {
            downstream::downstream_client_request_id(self.handle, buf, len, n)
        });
        id.ok().map(text)
    }

    /// Sends the request to `backend` (a name from `fastly.toml`, or a
    /// dynamic backend) and waits for the response's headers; its body
    /// streams in as it is read.
    pub fn send(self, backend: impl AsRef<str>) -> Result<Response, Error> {
        let backend = backend.as_ref();
        let (handle, body) = self.into_parts();
        let mut detail = pending::ErrorDetail::new();
        let (mut resp, mut resp_body) = (INVALID_HANDLE, INVALID_HANDLE);
        let code = unsafe { ffi::send_v2(handle, body, backend.as_ptr(), backend.len(), detail.as_mut_ptr(), &mut resp, &mut resp_body) };
        pending::response_or_error(code, &detail, resp, resp_body)
    }

    /// Starts sending the request and returns at once; see `PendingRequest` and `select`.
    pub fn send_async(self, backend: impl AsRef<str>) -> Result<PendingRequest, Error> {
        let backend = backend.as_ref();
        let (handle, body) = self.into_parts();
        let mut out = INVALID_HANDLE;
        check("fastly_http_req::send_async", unsafe { ffi::send_async(handle, body, backend.as_ptr(), backend.len(), &mut out) })?;
        Ok(PendingRequest::from_handle(out))
    }

    /// Starts sending the request with what its body holds so far; the rest
    /// is written to the returned `StreamingBody`, which must be finished.
    pub fn send_async_streaming(self, backend: impl AsRef<str>) -> Result<(StreamingBody, PendingRequest), Error> {
        let backend = backend.as_ref();
        let (handle, body) = self.into_parts();
        let mut out = INVALID_HANDLE;
        let code = unsafe { ffi::send_async_streaming(handle, body, backend.as_ptr(), backend.len(), &mut out) };
        if let Some(status) = Status::from_code(code) {
            // The body handle was not taken over: free it.
            drop(Body::from_handle(body));
            return Err(Error::Host { call: "fastly_http_req::send_async_streaming", status });
        }
        Ok((StreamingBody::from_handle(body), PendingRequest::from_handle(out)))
    }

    /// The request and body handles, given up to a call that consumes them.
    fn into_parts(mut self) -> (Handle, Handle) {
        let body = self.take_body().into_handle();
        let this = ManuallyDrop::new(self);
        (this.handle, body)
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        // The client request lives as long as the run: the host may still need it.
        if !self.is_client {
            unsafe { ffi::close(self.handle) };
        }
    }
}

/// Reads an address written as 4 or 16 octets.
pub(crate) fn ip_from(f: impl FnOnce(*mut u8, *mut usize) -> u32) -> Option<IpAddr> {
    let mut octets = [0u8; 16];
    let mut n = 0usize;
    if f(octets.as_mut_ptr(), &mut n) != 0 {
        return None;
    }
    match n {
        4 => Some(IpAddr::from([octets[0], octets[1], octets[2], octets[3]])),
        16 => Some(IpAddr::from(octets)),
        _ => None,
    }
}
