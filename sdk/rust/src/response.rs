//! HTTP responses: built by the guest, or received from a backend; sent to
//! the client whole (`send_to_client`) or streamed (`stream_to_client`).
use std::mem::ManuallyDrop;

use crate::abi::{fastly_http_resp as ffi, Handle, INVALID_HANDLE};
use crate::body::{Body, StreamingBody};
use crate::error::{check, Error, Status};
use crate::headers::{header_methods, RESPONSE};

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    handle: Handle,
    body: Option<Body>,
}

impl Response {
    /// A `200 OK` response with no headers and an empty body.
    pub fn new() -> Response {
        let mut handle = INVALID_HANDLE;
        let code = unsafe { ffi::new(&mut handle) };
        if let Some(status) = Status::from_code(code) {
            panic!("fastly_http_resp::new failed: {}", status);
        }
        Response { handle, body: None }
    }

    /// A response with `status` and an empty body.
    #[track_caller]
    pub fn from_status(status: u16) -> Response {
        Response::new().with_status(status)
    }

    /// A `200 OK` response with `body`.
    pub fn from_body(body: impl Into<Body>) -> Response {
        Response::new().with_body(body)
    }

    pub(crate) fn from_handles(handle: Handle, body: Handle) -> Response {
        Response { handle, body: Some(Body::from_handle(body)) }
    }

    /// The raw handle, for the `abi` module.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        let mut status = 0u16;
        unsafe { ffi::status_get(self.handle, &mut status) };
        status
    }

    /// Sets the status code. Panics unless it is 100 to 999.
    #[track_caller]
    pub fn set_status(&mut self, status: u16) {
        let code = unsafe { ffi::status_set(self.handle, status as u32) };
        if let Some(error) = Status::from_code(code) {
            panic!("invalid status {}: {}", status, error);
        }
    }

    /// `set_status`, for chaining.
    #[track_caller]
    pub fn with_status(mut self, status: u16) -> Response {
        self.set_status(status);
        self
    }

    header_methods!(RESPONSE);

    /// Sets `content-type`.
    #[track_caller]
    pub fn set_content_type(&mut self, content_type: &str) {
        self.set_header("content-type", content_type);
    }

    /// `set_content_type`, for chaining.
    #[track_caller]
    pub fn with_content_type(mut self, content_type: &str) -> Response {
        self.set_content_type(content_type);
        self
    }

    /// Takes the body out (an empty one if there was none).
    pub fn take_body(&mut self) -> Body {
        self.body.take().unwrap_or_default()
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = Some(body.into());
    }

    /// `set_body`, for chaining.
    pub fn with_body(mut self, body: impl Into<Body>) -> Response {
        self.set_body(body);
        self
    }

    /// A mutable reference to the body, to read or write it in place.
    pub fn body_mut(&mut self) -> &mut Body {
        self.body.get_or_insert_with(Body::new)
    }

    /// Reads the whole body.
    pub fn into_body_bytes(mut self) -> Result<Vec<u8>, Error> {
        self.take_body().into_bytes()
    }

    /// Reads the whole body as UTF-8 text.
    pub fn into_body_string(mut self) -> Result<String, Error> {
        self.take_body().into_string()
    }

    /// Keeps the `content-length`/`transfer-encoding` headers set by hand
    /// (`true`) instead of letting the host frame the body.
    pub fn set_manual_framing(&mut self, manual: bool) {
        unsafe { ffi::framing_headers_mode_set(self.handle, manual as u32) };
    }

    /// Sends the response, body included, to the client. A body that came
    /// from a backend unread is passed through by the host.
    pub fn send_to_client(self) -> Result<(), Error> {
        let (handle, body) = self.into_parts();
        check("fastly_http_resp::send_downstream", unsafe { ffi::send_downstream(handle, body, 0) })
    }

    /// Sends the status and headers now (and what the body already holds);
    /// the rest of the body is written to the returned `StreamingBody`, which
    /// must be finished.
    pub fn stream_to_client(self) -> Result<StreamingBody, Error> {
        let (handle, body) = self.into_parts();
        check("fastly_http_resp::send_downstream", unsafe { ffi::send_downstream(handle, body, 1) })?;
        Ok(StreamingBody::from_handle(body))
    }

    fn into_parts(mut self) -> (Handle, Handle) {
        let body = self.take_body().into_handle();
        let this = ManuallyDrop::new(self);
        (this.handle, body)
    }
}

impl Default for Response {
    fn default() -> Response {
        Response::new()
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        unsafe { ffi::close(self.handle) };
    }
}
