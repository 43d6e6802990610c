//! KV stores (`fastly_kv_store`): durable key-value stores the guest reads
//! and writes. Each operation is started, then waited for; its outcome is a
//! `$kv_error`, which becomes `Error::Kv` here.
use crate::abi::{fastly_kv_store as ffi, Handle, INVALID_HANDLE};
use crate::body::Body;
use crate::buffers::text;
use crate::error::{check, Error, KvError, Status};
use crate::json::Json;

/// A KV store.
#[derive(Debug)]
pub struct KvStore {
    handle: Handle,
}

/// A value found by `KvStore::lookup`.
#[derive(Debug)]
pub struct KvEntry {
    body: Body,
    metadata: Vec<u8>,
    generation: u64,
}

impl KvEntry {
    /// The value, as a body to read or pass on.
    pub fn take_body(self) -> Body {
        self.body
    }

    /// Reads the whole value.
    pub fn into_bytes(self) -> Result<Vec<u8>, Error> {
        self.body.into_bytes()
    }

    /// Reads the whole value as UTF-8 text.
    pub fn into_string(self) -> Result<String, Error> {
        self.body.into_string()
    }

    /// The entry's metadata (empty when it has none).
    pub fn metadata(&self) -> &[u8] {
        &self.metadata
    }

    /// How many writes the key has seen; pass it to `InsertOptions::if_generation_match`.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// How `insert` combines the new value with an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// Replace it (the default).
    Overwrite,
    /// Fail with `KvError::PreconditionFailed` if the key exists.
    Add,
    /// Put the new bytes after the old.
    Append,
    /// Put the new bytes before the old.
    Prepend,
}

/// Options of `KvStore::insert_with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertOptions {
    pub mode: InsertMode,
    /// Replaces the entry's metadata (none if `None`).
    pub metadata: Option<Vec<u8>>,
    /// The entry expires this many seconds after the write.
    pub time_to_live_sec: Option<u32>,
    /// Write only if the key is at this generation (compare-and-swap).
    pub if_generation_match: Option<u64>,
    pub background_fetch: bool,
}

impl Default for InsertOptions {
    fn default() -> InsertOptions {
        InsertOptions { mode: InsertMode::Overwrite, metadata: None, time_to_live_sec: None, if_generation_match: None, background_fetch: false }
    }
}

/// Options of `KvStore::list`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// At most this many keys (the host's default is 1000).
    pub limit: Option<u32>,
    /// Continue after the page that answered this `next_cursor`.
    pub cursor: Option<String>,
    /// Eventually consistent listing (faster on the platform).
    pub eventual: bool,
}

/// One page of keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvPage {
    pub keys: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// `$kv_insert_config` (32 bytes, align 8).
#[repr(C)]
struct InsertConfig {
    mode: u32,
    unused: u32,
    metadata: *const u8,
    metadata_len: u32,
    time_to_live_sec: u32,
    padding: u32,
    if_generation_match: u64,
}

/// `$kv_list_config` (24 bytes).
#[repr(C)]
struct ListConfig {
    mode: u32,
    cursor: *const u8,
    cursor_len: u32,
    limit: u32,
    prefix: *const u8,
    prefix_len: u32,
}

fn kv_outcome(call: &'static str, code: u32, kv_error: u32) -> Result<(), Error> {
    check(call, code)?;
    match KvError::from_code(kv_error) {
        None => Ok(()),
        Some(error) => Err(Error::Kv { call, error }),
    }
}

impl KvStore {
    /// Opens store `name`; an unknown name is an error (status `inval`).
    pub fn open(name: &str) -> Result<KvStore, Error> {
        let mut handle = 0;
        check("fastly_kv_store::open", unsafe { ffi::open(name.as_ptr(), name.len(), &mut handle) })?;
        Ok(KvStore { handle })
    }

    /// The entry for `key`, or `None` if there is none.
    pub fn lookup(&self, key: &str) -> Result<Option<KvEntry>, Error> {
        let config = 0u32;
        let mut pending = INVALID_HANDLE;
        check("fastly_kv_store::lookup", unsafe {
            ffi::lookup(self.handle, key.as_ptr(), key.len(), 0, &config as *const u32 as *const u8, &mut pending)
        })?;
        let mut metadata = vec![0u8; 256];
        loop {
            let (mut body, mut nwritten, mut generation, mut kv_error) = (INVALID_HANDLE, 0usize, 0u64, 0u32);
            let code = unsafe {
                ffi::lookup_wait_v2(pending, &mut body, metadata.as_mut_ptr(), metadata.len(), &mut nwritten, &mut generation, &mut kv_error)
            };
            if Status::from_code(code) == Some(Status::Buflen) && nwritten > metadata.len() {
                // The lookup stays pending until asked again with room for the metadata.
                metadata.resize(nwritten, 0);
                continue;
            }
            match kv_outcome("fastly_kv_store::lookup", code, kv_error) {
                Err(Error::Kv { error: KvError::NotFound, .. }) => return Ok(None),
                Err(error) => return Err(error),
                Ok(()) => {}
            }
            metadata.truncate(nwritten);
            return Ok(Some(KvEntry { body: Body::from_handle(body), metadata, generation }));
        }
    }

    /// Writes `value` under `key`, replacing what was there.
    pub fn insert(&self, key: &str, value: impl Into<Body>) -> Result<(), Error> {
        self.insert_with(key, value, &InsertOptions::default())
    }

    /// Writes `value` under `key` with `options`.
    pub fn insert_with(&self, key: &str, value: impl Into<Body>, options: &InsertOptions) -> Result<(), Error> {
        let metadata = options.metadata.as_deref().unwrap_or(&[]);
        let config = InsertConfig {
            mode: match options.mode {
                InsertMode::Overwrite => 0,
                InsertMode::Add => 1,
                InsertMode::Append => 2,
                InsertMode::Prepend => 3,
            },
            unused: 0,
            metadata: metadata.as_ptr(),
            metadata_len: metadata.len() as u32,
            time_to_live_sec: options.time_to_live_sec.unwrap_or(0),
            padding: 0,
            if_generation_match: options.if_generation_match.unwrap_or(0),
        };
        // `$kv_insert_config_options`.
        let mut mask = 0;
        if options.background_fetch {
            mask |= 1 << 1;
        }
        if options.metadata.is_some() {
            mask |= 1 << 3;
        }
        if options.time_to_live_sec.is_some() {
            mask |= 1 << 4;
        }
        if options.if_generation_match.is_some() {
            mask |= 1 << 5;
        }
        let body = value.into().into_handle();
        let mut pending = INVALID_HANDLE;
        check("fastly_kv_store::insert", unsafe {
            ffi::insert(self.handle, key.as_ptr(), key.len(), body, mask, &config as *const InsertConfig as *const u8, &mut pending)
        })?;
        let mut kv_error = 0u32;
        let code = unsafe { ffi::insert_wait(pending, &mut kv_error) };
        kv_outcome("fastly_kv_store::insert", code, kv_error)
    }

    /// Deletes `key`; a key that does not exist is `KvError::NotFound`.
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        let config = 0u32;
        let mut pending = INVALID_HANDLE;
        check("fastly_kv_store::delete", unsafe {
            ffi::delete(self.handle, key.as_ptr(), key.len(), 0, &config as *const u32 as *const u8, &mut pending)
        })?;
        let mut kv_error = 0u32;
        let code = unsafe { ffi::delete_wait(pending, &mut kv_error) };
        kv_outcome("fastly_kv_store::delete", code, kv_error)
    }

    /// One page of keys, in byte order.
    pub fn list(&self, options: &ListOptions) -> Result<KvPage, Error> {
        let cursor = options.cursor.as_deref().unwrap_or("");
        let prefix = options.prefix.as_deref().unwrap_or("");
        let config = ListConfig {
            mode: options.eventual as u32,
            cursor: cursor.as_ptr(),
            cursor_len: cursor.len() as u32,
            limit: options.limit.unwrap_or(0),
            prefix: prefix.as_ptr(),
            prefix_len: prefix.len() as u32,
        };
        // `$kv_list_config_options`: cursor, limit, prefix.
        let mut mask = 0;
        if options.cursor.is_some() {
            mask |= 1 << 1;
        }
        if options.limit.is_some() {
            mask |= 1 << 2;
        }
        if options.prefix.is_some() {
            mask |= 1 << 3;
        }
        let mut pending = INVALID_HANDLE;
        check("fastly_kv_store::list", unsafe { ffi::list(self.handle, mask, &config as *const ListConfig as *const u8, &mut pending) })?;
        let (mut body, mut kv_error) = (INVALID_HANDLE, 0u32);
        let code = unsafe { ffi::list_wait(pending, &mut body, &mut kv_error) };
        kv_outcome("fastly_kv_store::list", code, kv_error)?;
        let listing = text(Body::from_handle(body).into_bytes()?);
        parse_page(&listing)
    }

    /// Every key starting with `prefix` (all pages).
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let mut options = ListOptions { prefix: Some(prefix.to_string()), ..ListOptions::default() };
        let mut keys = Vec::new();
        loop {
            let page = self.list(&options)?;
            keys.extend(page.keys);
            match page.next_cursor {
                Some(cursor) => options.cursor = Some(cursor),
                None => return Ok(keys),
            }
        }
    }
}

/// `{"data": ["key", ...], "meta": {"next_cursor": "..."}}`.
fn parse_page(listing: &str) -> Result<KvPage, Error> {
    let invalid = || Error::Invalid(format!("unexpected KV listing: {}", listing));
    let json = Json::parse(listing).map_err(|_| invalid())?;
    let data = json.get("data").and_then(Json::as_array).ok_or_else(invalid)?;
    let keys = data.iter().map(|key| key.as_str().map(str::to_string).ok_or_else(invalid)).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = json.get("meta").and_then(|meta| meta.get("next_cursor")).and_then(Json::as_str).filter(|c| !c.is_empty()).map(str::to_string);
    Ok(KvPage { keys, next_cursor })
}
