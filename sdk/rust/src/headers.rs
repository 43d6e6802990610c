//! Header access shared by requests and responses: the same calls exist in
//! `fastly_http_req` and `fastly_http_resp`, with the same shapes.
use crate::abi::{self, Handle};
use crate::buffers::{get_values, text};
use crate::error::{check, Error, Status};

type NamesGet = unsafe extern "C" fn(Handle, *mut u8, usize, u32, *mut i64, *mut usize) -> u32;
type ValuesGet = unsafe extern "C" fn(Handle, *const u8, usize, *mut u8, usize, u32, *mut i64, *mut usize) -> u32;
type ValuesSet = unsafe extern "C" fn(Handle, *const u8, usize, *const u8, usize) -> u32;
type Insert = unsafe extern "C" fn(Handle, *const u8, usize, *const u8, usize) -> u32;
type Remove = unsafe extern "C" fn(Handle, *const u8, usize) -> u32;

/// The header calls of one ABI module.
pub(crate) struct HeaderCalls {
    names_get: NamesGet,
    values_get: ValuesGet,
    values_set: ValuesSet,
    insert: Insert,
    append: Insert,
    remove: Remove,
}

pub(crate) const REQUEST: HeaderCalls = HeaderCalls {
    names_get: abi::fastly_http_req::header_names_get,
    values_get: abi::fastly_http_req::header_values_get,
    values_set: abi::fastly_http_req::header_values_set,
    insert: abi::fastly_http_req::header_insert,
    append: abi::fastly_http_req::header_append,
    remove: abi::fastly_http_req::header_remove,
};

pub(crate) const RESPONSE: HeaderCalls = HeaderCalls {
    names_get: abi::fastly_http_resp::header_names_get,
    values_get: abi::fastly_http_resp::header_values_get,
    values_set: abi::fastly_http_resp::header_values_set,
    insert: abi::fastly_http_resp::header_insert,
    append: abi::fastly_http_resp::header_append,
    remove: abi::fastly_http_resp::header_remove,
};

/// A setter failed: the name or value is not a valid header (or the handle is
/// gone, which is a bug in this crate). Like a bad index, this is the caller's
/// mistake, so it panics rather than burdening every call with a `Result`.
#[track_caller]
fn invalid(call: &str, name: &str, status: Status) -> ! {
    panic!("{}({:?}) failed: {} (an invalid header name or value?)", call, name, status)
}

impl HeaderCalls {
    pub(crate) fn names(&self, h: Handle) -> Result<Vec<String>, Error> {
        let names = get_values("header_names_get", |buf, len, cursor, ending, n| unsafe {
            (self.names_get)(h, buf, len, cursor, ending, n)
        })?;
        Ok(names.into_iter().map(text).collect())
    }

    pub(crate) fn values(&self, h: Handle, name: &str) -> Result<Vec<Vec<u8>>, Error> {
        get_values("header_values_get", |buf, len, cursor, ending, n| unsafe {
            (self.values_get)(h, name.as_ptr(), name.len(), buf, len, cursor, ending, n)
        })
    }

    #[track_caller]
    pub(crate) fn set_all(&self, h: Handle, name: &str, values: &[&[u8]]) {
        let mut joined = Vec::new();
        for value in values {
            joined.extend_from_slice(value);
            joined.push(0);
        }
        let code = unsafe { (self.values_set)(h, name.as_ptr(), name.len(), joined.as_ptr(), joined.len()) };
        if let Err(e) = check("header_values_set", code) {
            invalid("header_values_set", name, e.status().unwrap_or(Status::Error));
        }
    }

    #[track_caller]
    pub(crate) fn insert(&self, h: Handle, name: &str, value: &[u8]) {
        let code = unsafe { (self.insert)(h, name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
        if let Some(status) = Status::from_code(code) {
            invalid("header_insert", name, status);
        }
    }

    #[track_caller]
    pub(crate) fn append(&self, h: Handle, name: &str, value: &[u8]) {
        let code = unsafe { (self.append)(h, name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
        if let Some(status) = Status::from_code(code) {
            invalid("header_append", name, status);
        }
    }

    /// Whether the header was there.
    pub(crate) fn remove(&self, h: Handle, name: &str) -> bool {
        // INVAL: the header was absent (or the name invalid, so absent as well).
        unsafe { (self.remove)(h, name.as_ptr(), name.len()) == 0 }
    }
}

/// Header accessors, written once for `Request` and `Response`.
macro_rules! header_methods {
    ($calls:expr) => {
        /// The first value of header `name` (case-insensitive), as text
        /// (bytes that are not UTF-8 are replaced).
        pub fn header(&self, name: &str) -> Option<String> {
            self.header_bytes(name).map($crate::buffers::text)
        }

        /// The first value of header `name`, as bytes.
        pub fn header_bytes(&self, name: &str) -> Option<Vec<u8>> {
            self.header_all_bytes(name).into_iter().next()
        }

        /// Every value of header `name`, in order.
        pub fn header_all(&self, name: &str) -> Vec<String> {
            self.header_all_bytes(name).into_iter().map($crate::buffers::text).collect()
        }

        /// Every value of header `name`, as bytes.
        pub fn header_all_bytes(&self, name: &str) -> Vec<Vec<u8>> {
            $calls.values(self.handle(), name).unwrap_or_default()
        }

        /// The names of the headers present, lower case, each once.
        pub fn header_names(&self) -> Vec<String> {
            $calls.names(self.handle()).unwrap_or_default()
        }

        /// Every header as `(name, value)` pairs, one per value.
        pub fn headers(&self) -> Vec<(String, String)> {
            let mut all = Vec::new();
            for name in self.header_names() {
                for value in self.header_all(&name) {
                    all.push((name.clone(), value));
                }
            }
            all
        }

        /// Whether header `name` is present.
        pub fn contains_header(&self, name: &str) -> bool {
            !self.header_all_bytes(name).is_empty()
        }

        /// Sets header `name` to `value`, replacing any values it had.
        /// Panics if the name or value is not valid in a header.
        #[track_caller]
        pub fn set_header(&mut self, name: &str, value: impl AsRef<[u8]>) {
            $calls.insert(self.handle(), name, value.as_ref())
        }

        /// Adds a value to header `name`, keeping those it had.
        /// Panics if the name or value is not valid in a header.
        #[track_caller]
        pub fn append_header(&mut self, name: &str, value: impl AsRef<[u8]>) {
            $calls.append(self.handle(), name, value.as_ref())
        }

        /// Replaces every value of header `name` with `values`.
        #[track_caller]
        pub fn set_header_all(&mut self, name: &str, values: &[&[u8]]) {
            $calls.set_all(self.handle(), name, values)
        }

        /// Removes header `name`; whether it was present.
        pub fn remove_header(&mut self, name: &str) -> bool {
            $calls.remove(self.handle(), name)
        }

        /// `set_header`, for chaining.
        #[track_caller]
        pub fn with_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
            self.set_header(name, value);
            self
        }
    };
}
pub(crate) use header_methods;
