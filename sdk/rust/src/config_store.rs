//! Config stores (`fastly_config_store`; also readable as dictionaries):
//! read-only string maps declared in `fastly.toml`.
use crate::abi::{fastly_config_store as ffi, Handle};
use crate::buffers::{get_optional, text};
use crate::error::{check, Error};

/// A config store.
#[derive(Debug)]
pub struct ConfigStore {
    handle: Handle,
}

impl ConfigStore {
    /// Opens store `name`; an unknown name is an error (status `badf`).
    pub fn open(name: &str) -> Result<ConfigStore, Error> {
        let mut handle = 0;
        check("fastly_config_store::open", unsafe { ffi::open(name.as_ptr(), name.len(), &mut handle) })?;
        Ok(ConfigStore { handle })
    }

    /// The value of `key`, or `None` if the store has no such key.
    pub fn get(&self, key: &str) -> Result<Option<String>, Error> {
        let value = get_optional("fastly_config_store::get", 256, |buf, len, n| unsafe {
            ffi::get(self.handle, key.as_ptr(), key.len(), buf, len, n)
        })?;
        Ok(value.map(text))
    }

    /// Whether the store has `key`.
    pub fn contains(&self, key: &str) -> Result<bool, Error> {
        Ok(self.get(key)?.is_some())
    }
}
