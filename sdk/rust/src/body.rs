//! Message bodies: host-side byte streams read with `Read` and written with
//! `Write`, and the streaming write ends of responses and requests in flight.
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;

use crate::abi::{fastly_http_body as ffi, Handle};
use crate::error::{check, Error, Status};

/// A body. Reading drains it; writing appends to it. Bodies of messages that
/// came from the client or a backend stream in as they are read, and can be
/// passed on (to `send_to_client`, to a backend) without being read at all:
/// the host then moves the bytes itself.
#[derive(Debug)]
pub struct Body {
    handle: Handle,
}

impl Body {
    /// An empty body.
    pub fn new() -> Body {
        let mut handle = 0;
        let code = unsafe { ffi::new(&mut handle) };
        if let Some(status) = Status::from_code(code) {
            panic!("fastly_http_body::new failed: {}", status);
        }
        Body { handle }
    }

    pub(crate) fn from_handle(handle: Handle) -> Body {
        Body { handle }
    }

    /// The raw handle, for the `abi` module.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// Gives the handle up without closing it (a call consumed it).
    pub(crate) fn into_handle(self) -> Handle {
        ManuallyDrop::new(self).handle
    }

    /// Reads everything that is left.
    pub fn into_bytes(mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 8192];
        loop {
            let n = self.read_chunk(&mut chunk)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads everything that is left as UTF-8 text.
    pub fn into_string(self) -> Result<String, Error> {
        String::from_utf8(self.into_bytes()?).map_err(|_| Error::Invalid("body is not UTF-8".to_string()))
    }

    /// Reads at most `buf.len()` bytes, waiting for at least one; 0 at the end.
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut n = 0usize;
        check("fastly_http_body::read", unsafe { ffi::read(self.handle, buf.as_mut_ptr(), buf.len(), &mut n) })?;
        Ok(n.min(buf.len()))
    }

    /// Appends bytes to the end.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        write_all(self.handle, bytes, 0)
    }

    /// Puts bytes before what the body holds.
    pub fn write_front(&mut self, bytes: &[u8]) -> Result<(), Error> {
        write_all(self.handle, bytes, 1)
    }

    /// Moves all of `other` to the end of this body, without copying it through the guest.
    pub fn append(&mut self, other: Body) -> Result<(), Error> {
        check("fastly_http_body::append", unsafe { ffi::append(self.handle, other.into_handle()) })
    }

    /// The body's length, when the host knows it before it is read.
    pub fn known_length(&self) -> Option<u64> {
        let mut length = 0u64;
        (unsafe { ffi::known_length(self.handle, &mut length) } == 0).then_some(length)
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::new()
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        unsafe { ffi::close(self.handle) };
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_chunk(buf)?)
    }
}

impl Write for Body {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_bytes(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl From<&[u8]> for Body {
    fn from(bytes: &[u8]) -> Body {
        let mut body = Body::new();
        if let Err(error) = body.write_bytes(bytes) {
            panic!("writing a new body failed: {}", error);
        }
        body
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from(&bytes[..])
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Body {
        Body::from(text.as_bytes())
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(text.as_bytes())
    }
}

fn write_all(handle: Handle, mut bytes: &[u8], end: u32) -> Result<(), Error> {
    while !bytes.is_empty() {
        let mut n = 0usize;
        check("fastly_http_body::write", unsafe { ffi::write(handle, bytes.as_ptr(), bytes.len(), end, &mut n) })?;
        if n == 0 {
            return Err(Error::Host { call: "fastly_http_body::write", status: Status::Error });
        }
        bytes = &bytes[n.min(bytes.len())..];
    }
    Ok(())
}

/// The write end of a body being sent while it is written: a response
/// streamed to the client (`Response::stream_to_client`) or a request body
/// streamed to a backend (`Request::send_async_streaming`).
///
/// Call `finish` when done. A `StreamingBody` dropped without `finish` is
/// abandoned: the receiver sees the message end early, as it should when the
/// code producing it failed half way.
#[derive(Debug)]
pub struct StreamingBody {
    handle: Handle,
}

impl StreamingBody {
    pub(crate) fn from_handle(handle: Handle) -> StreamingBody {
        StreamingBody { handle }
    }

    /// Sends bytes (waiting while the receiver is slow to take them).
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        write_all(self.handle, bytes, 0)
    }

    /// Sends the whole of `body` next, without copying it through the guest.
    pub fn append(&mut self, body: Body) -> Result<(), Error> {
        check("fastly_http_body::append", unsafe { ffi::append(self.handle, body.into_handle()) })
    }

    /// Ends the body successfully.
    pub fn finish(self) -> Result<(), Error> {
        let handle = ManuallyDrop::new(self).handle;
        check("fastly_http_body::close", unsafe { ffi::close(handle) })
    }

    /// Ends the body as incomplete: the receiver learns it was cut short.
    pub fn abandon(self) {
        let handle = ManuallyDrop::new(self).handle;
        unsafe { ffi::abandon(handle) };
    }
}

impl Drop for StreamingBody {
    fn drop(&mut self) {
        unsafe { ffi::abandon(self.handle) };
    }
}

impl Write for StreamingBody {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_bytes(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
