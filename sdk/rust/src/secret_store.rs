//! Secret stores (`fastly_secret_store`): secrets are fetched by name and
//! their bytes read only when asked for.
use crate::abi::{fastly_secret_store as ffi, Handle};
use crate::buffers::get_value;
use crate::error::{check, Error, Status};

/// A secret store.
#[derive(Debug)]
pub struct SecretStore {
    handle: Handle,
}

/// A secret; `plaintext` reads its bytes.
#[derive(Debug)]
pub struct Secret {
    handle: Handle,
}

impl SecretStore {
    /// Opens store `name`; an unknown name is an error for which
    /// `Error::is_not_found` is true.
    pub fn open(name: &str) -> Result<SecretStore, Error> {
        let mut handle = 0;
        check("fastly_secret_store::open", unsafe { ffi::open(name.as_ptr(), name.len(), &mut handle) })?;
        Ok(SecretStore { handle })
    }

    /// The secret called `name`, or `None` if the store has none.
    pub fn get(&self, name: &str) -> Result<Option<Secret>, Error> {
        let mut handle = 0;
        match Status::from_code(unsafe { ffi::get(self.handle, name.as_ptr(), name.len(), &mut handle) }) {
            None => Ok(Some(Secret { handle })),
            Some(Status::None) => Ok(None),
            Some(status) => Err(Error::Host { call: "fastly_secret_store::get", status }),
        }
    }
}

impl Secret {
    /// A secret made from bytes the guest holds (to pass where a secret is expected).
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, Error> {
        let mut handle = 0;
        check("fastly_secret_store::from_bytes", unsafe { ffi::from_bytes(bytes.as_ptr(), bytes.len(), &mut handle) })?;
        Ok(Secret { handle })
    }

    /// The raw handle, for the `abi` module.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// The secret's bytes.
    pub fn plaintext(&self) -> Result<Vec<u8>, Error> {
        get_value("fastly_secret_store::plaintext", 256, |buf, len, n| unsafe { ffi::plaintext(self.handle, buf, len, n) })
    }
}
