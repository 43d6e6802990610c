//! Requests in flight: `Request::send_async` hands back a `PendingRequest`,
//! which is waited for alone (`wait`), probed (`poll`), or raced against
//! others (`select`).
use std::mem::ManuallyDrop;

use crate::abi::{fastly_async_io, fastly_http_req as ffi, Handle, INVALID_HANDLE};
use crate::error::{Error, SendErrorCause, Status};
use crate::response::Response;

/// `$send_error_detail` (20 bytes): the host fills it when a send fails.
/// The mask (bytes 4..8) asks for no optional field, so only the tag comes back.
#[repr(C, align(4))]
pub(crate) struct ErrorDetail([u8; 20]);

impl ErrorDetail {
    pub(crate) fn new() -> ErrorDetail {
        ErrorDetail([0; 20])
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }

    fn cause(&self) -> SendErrorCause {
        SendErrorCause::from_tag(u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]))
    }
}

/// The outcome of a send-like call: its response, or why there is none.
pub(crate) fn response_or_error(code: u32, detail: &ErrorDetail, resp: Handle, body: Handle) -> Result<Response, Error> {
    match Status::from_code(code) {
        Some(status) => Err(Error::Send { status, cause: detail.cause() }),
        // `select` reports a failed request as done with no response.
        None if resp == INVALID_HANDLE => Err(Error::Send { status: Status::Error, cause: detail.cause() }),
        None => Ok(Response::from_handles(resp, body)),
    }
}

/// A request sent with `send_async` whose response has not been taken yet.
#[derive(Debug)]
pub struct PendingRequest {
    handle: Handle,
}

/// What `PendingRequest::poll` found.
#[derive(Debug)]
pub enum Poll {
    /// The response's headers have not arrived: here is the request back.
    Pending(PendingRequest),
    /// The request is done.
    Ready(Result<Response, Error>),
}

impl PendingRequest {
    pub(crate) fn from_handle(handle: Handle) -> PendingRequest {
        PendingRequest { handle }
    }

    /// The raw handle, for the `abi` module.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    fn into_handle(self) -> Handle {
        ManuallyDrop::new(self).handle
    }

    /// Waits for the response's headers.
    pub fn wait(self) -> Result<Response, Error> {
        let handle = self.into_handle();
        let mut detail = ErrorDetail::new();
        let (mut resp, mut body) = (INVALID_HANDLE, INVALID_HANDLE);
        let code = unsafe { ffi::pending_req_wait_v2(handle, detail.as_mut_ptr(), &mut resp, &mut body) };
        response_or_error(code, &detail, resp, body)
    }

    /// Checks, without waiting, whether the response has arrived.
    pub fn poll(self) -> Poll {
        let mut detail = ErrorDetail::new();
        let (mut done, mut resp, mut body) = (0u32, INVALID_HANDLE, INVALID_HANDLE);
        let code = unsafe { ffi::pending_req_poll_v2(self.handle, detail.as_mut_ptr(), &mut done, &mut resp, &mut body) };
        if code == 0 && done == 0 {
            return Poll::Pending(self);
        }
        let _ = self.into_handle();
        Poll::Ready(response_or_error(code, &detail, resp, body))
    }

    /// Whether `wait` would return at once.
    pub fn is_ready(&self) -> bool {
        let mut ready = 0u32;
        (unsafe { fastly_async_io::is_ready(self.handle, &mut ready) }) == 0 && ready == 1
    }
}

/// Waits for the first of `pending` to finish. Returns its index in
/// `pending`, its outcome, and the others (still in flight, in their order).
/// Panics if `pending` is empty.
pub fn select(pending: Vec<PendingRequest>) -> (usize, Result<Response, Error>, Vec<PendingRequest>) {
    assert!(!pending.is_empty(), "select() needs at least one pending request");
    let handles: Vec<Handle> = pending.iter().map(|p| p.handle).collect();
    let mut detail = ErrorDetail::new();
    let (mut index, mut resp, mut body) = (0u32, INVALID_HANDLE, INVALID_HANDLE);
    let code = unsafe { ffi::pending_req_select_v2(handles.as_ptr(), handles.len(), detail.as_mut_ptr(), &mut index, &mut resp, &mut body) };
    let mut rest = pending;
    if code != 0 {
        // The call itself failed (a bad handle): nothing was consumed.
        let status = Status::from_code(code).unwrap_or(Status::Error);
        return (usize::MAX, Err(Error::Host { call: "fastly_http_req::pending_req_select_v2", status }), rest);
    }
    let index = index as usize;
    let done = rest.remove(index.min(rest.len() - 1));
    let _ = done.into_handle();
    (index, response_or_error(code, &detail, resp, body), rest)
}
