//! The crate's error type: a host call's status, the outcome of a KV
//! operation, or the cause a backend request failed with.
use std::fmt;

/// A `fastly_status` other than OK (ABI-SUMMARY §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Generic error (bad header bytes, a backend that failed, a second response, ...).
    Error,
    /// Invalid argument (also: an unknown backend or KV store, a header that is absent).
    Inval,
    /// Invalid or consumed handle (also: an unknown config store).
    Badf,
    /// Output buffer too small (the SDK retries these itself).
    Buflen,
    /// Not supported by this host.
    Unsupported,
    /// Misaligned pointer.
    Badalign,
    /// HTTP parse error.
    HttpInvalid,
    /// HTTP user error.
    HttpUser,
    /// A message ended too early.
    HttpIncomplete,
    /// The value is absent.
    None,
    /// A message head too large.
    HttpHeadTooLarge,
    /// An invalid HTTP status.
    HttpInvalidStatus,
    /// A limit was exceeded (too many handles, ...).
    LimitExceeded,
    /// Try again later.
    Again,
    /// A status this SDK does not know.
    Unknown(u32),
}

impl Status {
    /// The status for a raw code; `None` for OK (0).
    pub fn from_code(code: u32) -> Option<Status> {
        Some(match code {
            0 => return None,
            1 => Status::Error,
            2 => Status::Inval,
            3 => Status::Badf,
            4 => Status::Buflen,
            5 => Status::Unsupported,
            6 => Status::Badalign,
            7 => Status::HttpInvalid,
            8 => Status::HttpUser,
            9 => Status::HttpIncomplete,
            10 => Status::None,
            11 => Status::HttpHeadTooLarge,
            12 => Status::HttpInvalidStatus,
            13 => Status::LimitExceeded,
            14 => Status::Again,
            other => Status::Unknown(other),
        })
    }

    /// The raw `fastly_status` code.
    pub fn code(self) -> u32 {
        match self {
            Status::Error => 1,
            Status::Inval => 2,
            Status::Badf => 3,
            Status::Buflen => 4,
            Status::Unsupported => 5,
            Status::Badalign => 6,
            Status::HttpInvalid => 7,
            Status::HttpUser => 8,
            Status::HttpIncomplete => 9,
            Status::None => 10,
            Status::HttpHeadTooLarge => 11,
            Status::HttpInvalidStatus => 12,
            Status::LimitExceeded => 13,
            Status::Again => 14,
            Status::Unknown(code) => code,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Status::Error => "error",
            Status::Inval => "inval",
            Status::Badf => "badf",
            Status::Buflen => "buflen",
            Status::Unsupported => "unsupported",
            Status::Badalign => "badalign",
            Status::HttpInvalid => "httpinvalid",
            Status::HttpUser => "httpuser",
            Status::HttpIncomplete => "httpincomplete",
            Status::None => "none",
            Status::HttpHeadTooLarge => "httpheadtoolarge",
            Status::HttpInvalidStatus => "httpinvalidstatus",
            Status::LimitExceeded => "limitexceeded",
            Status::Again => "again",
            Status::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// How a KV store operation ended when it did not succeed (`$kv_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KvError {
    /// The request was malformed (bad cursor, metadata too long, ...).
    BadRequest,
    /// The key does not exist.
    NotFound,
    /// `add` on an existing key, or `if_generation_match` failed.
    PreconditionFailed,
    /// The value is too large.
    PayloadTooLarge,
    /// The store failed.
    InternalError,
    /// Too many requests.
    TooManyRequests,
    /// A code this SDK does not know.
    Unknown(u32),
}

impl KvError {
    /// The error for a raw `$kv_error`; `None` for OK (1).
    pub(crate) fn from_code(code: u32) -> Option<KvError> {
        Some(match code {
            1 => return None,
            2 => KvError::BadRequest,
            3 => KvError::NotFound,
            4 => KvError::PreconditionFailed,
            5 => KvError::PayloadTooLarge,
            6 => KvError::InternalError,
            7 => KvError::TooManyRequests,
            other => KvError::Unknown(other),
        })
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::BadRequest => f.write_str("bad request"),
            KvError::NotFound => f.write_str("not found"),
            KvError::PreconditionFailed => f.write_str("precondition failed"),
            KvError::PayloadTooLarge => f.write_str("payload too large"),
            KvError::InternalError => f.write_str("internal error"),
            KvError::TooManyRequests => f.write_str("too many requests"),
            KvError::Unknown(code) => write!(f, "kv error {}", code),
        }
    }
}

/// Why a backend request failed, as the host reports it (`$send_error_detail_tag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendErrorCause {
    DnsTimeout,
    DnsError,
    DestinationNotFound,
    DestinationUnavailable,
    DestinationIpUnroutable,
    ConnectionRefused,
    ConnectionTerminated,
    ConnectionTimeout,
    ConnectionLimitReached,
    TlsCertificateError,
    TlsConfigurationError,
    HttpIncompleteResponse,
    HttpResponseHeaderSectionTooLarge,
    HttpResponseBodyTooLarge,
    HttpResponseTimeout,
    HttpResponseStatusInvalid,
    HttpUpgradeFailed,
    HttpProtocolError,
    HttpRequestCacheKeyInvalid,
    HttpRequestUriInvalid,
    InternalError,
    TlsAlertReceived,
    TlsProtocolError,
    H2Error,
    /// The host gave no detail.
    Unknown,
}

impl SendErrorCause {
    pub(crate) fn from_tag(tag: u32) -> SendErrorCause {
        use SendErrorCause::*;
        const TAGS: [SendErrorCause; 24] = [
            DnsTimeout,
            DnsError,
            DestinationNotFound,
            DestinationUnavailable,
            DestinationIpUnroutable,
            ConnectionRefused,
            ConnectionTerminated,
            ConnectionTimeout,
            ConnectionLimitReached,
            TlsCertificateError,
            TlsConfigurationError,
            HttpIncompleteResponse,
            HttpResponseHeaderSectionTooLarge,
            HttpResponseBodyTooLarge,
            HttpResponseTimeout,
            HttpResponseStatusInvalid,
            HttpUpgradeFailed,
            HttpProtocolError,
            HttpRequestCacheKeyInvalid,
            HttpRequestUriInvalid,
            InternalError,
            TlsAlertReceived,
            TlsProtocolError,
            H2Error,
        ];
        // Tags 0 (uninitialized) and 1 (ok) carry no cause; 2 is the first.
        match tag.checked_sub(2) {
            Some(i) if (i as usize) < TAGS.len() => TAGS[i as usize],
            _ => Unknown,
        }
    }
}

/// The error of every fallible call in this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A host call answered `status`; `call` names it (`module::function`).
    Host { call: &'static str, status: Status },
    /// A KV store operation ended with `error`.
    Kv { call: &'static str, error: KvError },
    /// A backend request failed: the call's status and the host's cause.
    Send { status: Status, cause: SendErrorCause },
    /// Data was not what it had to be (e.g. text that is not UTF-8).
    Invalid(String),
}

impl Error {
    /// The host status behind this error, if a host call failed.
    pub fn status(&self) -> Option<Status> {
        match self {
            Error::Host { status, .. } | Error::Send { status, .. } => Some(*status),
            Error::Kv { .. } | Error::Invalid(_) => None,
        }
    }

    /// The KV outcome behind this error, if a KV operation failed.
    pub fn kv_error(&self) -> Option<KvError> {
        match self {
            Error::Kv { error, .. } => Some(*error),
            _ => None,
        }
    }

    /// Whether the thing asked for does not exist (a KV key, a store, a secret).
    pub fn is_not_found(&self) -> bool {
        matches!(self.status(), Some(Status::None)) || self.kv_error() == Some(KvError::NotFound)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Host { call, status } => write!(f, "{} failed: {}", call, status),
            Error::Kv { call, error } => write!(f, "{} failed: {}", call, error),
            Error::Send { status, cause } => write!(f, "backend request failed: {:?} ({})", cause, status),
            Error::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::Other, error)
    }
}

/// Turns a raw status into a `Result`.
pub(crate) fn check(call: &'static str, code: u32) -> Result<(), Error> {
    match Status::from_code(code) {
        None => Ok(()),
        Some(status) => Err(Error::Host { call, status }),
    }
}
