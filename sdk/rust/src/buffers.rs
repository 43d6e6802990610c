//! The two ways the host hands back data of unknown length (ABI-SUMMARY §4.2
//! and §4.3), done once for every getter.
use crate::error::{Error, Status};

/// A single-value getter `(buf, max_len, nwritten_out)`. Starts with `initial`
/// bytes; on BUFLEN the host has written the length it needs, so one retry
/// with that much room succeeds.
pub(crate) fn get_value(
    call: &'static str,
    initial: usize,
    mut f: impl FnMut(*mut u8, usize, *mut usize) -> u32,
) -> Result<Vec<u8>, Error> {
    let mut buf: Vec<u8> = Vec::with_capacity(initial);
    loop {
        let mut nwritten = 0usize;
        let code = f(buf.as_mut_ptr(), buf.capacity(), &mut nwritten);
        match Status::from_code(code) {
            None => {
                // SAFETY: the host wrote `nwritten` bytes (at most the capacity) into the buffer.
                unsafe { buf.set_len(nwritten.min(buf.capacity())) };
                return Ok(buf);
            }
            Some(Status::Buflen) if nwritten > buf.capacity() => buf.reserve_exact(nwritten),
            Some(status) => return Err(Error::Host { call, status }),
        }
    }
}

/// Like `get_value`, with the NONE status meaning "absent".
pub(crate) fn get_optional(
    call: &'static str,
    initial: usize,
    f: impl FnMut(*mut u8, usize, *mut usize) -> u32,
) -> Result<Option<Vec<u8>>, Error> {
    match get_value(call, initial, f) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Error::Host { status: Status::None, .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A multi-value getter `(buf, len, cursor, ending_cursor_out, nwritten_out)`:
/// items arrive NUL-terminated, as many as fit; the host answers the cursor to
/// continue from, or -1 when it has sent them all.
pub(crate) fn get_values(
    call: &'static str,
    mut f: impl FnMut(*mut u8, usize, u32, *mut i64, *mut usize) -> u32,
) -> Result<Vec<Vec<u8>>, Error> {
    let mut buf = vec![0u8; 512];
    let mut items = Vec::new();
    let mut cursor = 0u32;
    loop {
        let mut ending = -1i64;
        let mut nwritten = 0usize;
        match Status::from_code(f(buf.as_mut_ptr(), buf.len(), cursor, &mut ending, &mut nwritten)) {
            None => {}
            Some(Status::Buflen) if nwritten > buf.len() => {
                buf.resize(nwritten, 0);
                continue;
            }
            Some(status) => return Err(Error::Host { call, status }),
        }
        let written = &buf[..nwritten.min(buf.len())];
        if let Some(body) = written.strip_suffix(&[0]) {
            items.extend(body.split(|&b| b == 0).map(|item| item.to_vec()));
        }
        if ending < 0 || ending as u32 == cursor {
            return Ok(items);
        }
        cursor = ending as u32;
    }
}

/// Text from the host, which is UTF-8 almost always; anything else is replaced.
pub(crate) fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
