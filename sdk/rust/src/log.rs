//! Named log endpoints (`fastly_log`). Standard output and error reach the
//! server's log as well (`println!`, `eprintln!`).
use std::io::{self, Write};

use crate::abi::{fastly_log as ffi, Handle};
use crate::error::{check, Error};

/// A log endpoint. `log` sends one message; as a `Write`r it sends one
/// message per line, so `writeln!(endpoint, ...)` logs one line.
#[derive(Debug)]
pub struct LogEndpoint {
    handle: Handle,
    name: String,
    line: Vec<u8>,
}

impl LogEndpoint {
    /// The endpoint called `name` (`stdout`, `stderr` and names starting
    /// `fst_managed_` are reserved).
    pub fn open(name: &str) -> Result<LogEndpoint, Error> {
        let mut handle = 0;
        check("fastly_log::endpoint_get", unsafe { ffi::endpoint_get(name.as_ptr(), name.len(), &mut handle) })?;
        Ok(LogEndpoint { handle, name: name.to_string(), line: Vec::new() })
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `message` as one log message.
    pub fn log(&self, message: impl AsRef<[u8]>) -> Result<(), Error> {
        let message = message.as_ref();
        let mut n = 0usize;
        check("fastly_log::write", unsafe { ffi::write(self.handle, message.as_ptr(), message.len(), &mut n) })
    }
}

impl Write for LogEndpoint {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.log(&line)?;
            } else {
                self.line.push(b);
            }
        }
        Ok(buf.len())
    }

    /// Sends a line not yet ended by a newline.
    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.log(&line)?;
        }
        Ok(())
    }
}

impl Drop for LogEndpoint {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
