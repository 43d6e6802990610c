//! Purging cached responses by surrogate key (`fastly_purge`).
use crate::abi::fastly_purge as ffi;
use crate::error::{check, Error};

/// `$purge_options_mask`: soft purge.
const SOFT: u32 = 1 << 0;

fn purge(key: &str, mask: u32) -> Result<(), Error> {
    // The options record (12 bytes) is only read for `ret_buf`; a zeroed one is passed anyway.
    let options = [0u32; 3];
    check("fastly_purge::purge_surrogate_key", unsafe { ffi::purge_surrogate_key(key.as_ptr(), key.len(), mask, options.as_ptr() as *const u8) })
}

/// Removes every cached object tagged with surrogate key `key`.
pub fn purge_surrogate_key(key: &str) -> Result<(), Error> {
    purge(key, 0)
}

/// Marks every cached object tagged with `key` stale (still usable while it revalidates).
pub fn soft_purge_surrogate_key(key: &str) -> Result<(), Error> {
    purge(key, SOFT)
}
