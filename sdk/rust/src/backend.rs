//! Backends: those `fastly.toml` names, and dynamic ones registered at run
//! time (`fastly_http_req::register_dynamic_backend`).
use crate::abi::{fastly_backend as ffi, fastly_http_req};
use crate::buffers::{get_value, text};
use crate::error::{check, Error, Status};

/// A backend, by name. Anything that takes a backend (`Request::send`)
/// takes a `&Backend` or a plain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    name: String,
}

/// What the host knows of a backend's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendHealth {
    Unknown,
    Healthy,
    Unhealthy,
}

fn flag(call: &'static str, name: &str, f: unsafe extern "C" fn(*const u8, usize, *mut u32) -> u32) -> Result<u32, Error> {
    let mut out = 0u32;
    check(call, unsafe { f(name.as_ptr(), name.len(), &mut out) })?;
    Ok(out)
}

impl Backend {
    /// The backend called `name`, if it exists.
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::exists(name).then(|| Backend { name: name.to_string() })
    }

    /// Whether a backend called `name` exists.
    pub fn exists(name: &str) -> bool {
        flag("fastly_backend::exists", name, ffi::exists) == Ok(1)
    }

    /// Starts describing a dynamic backend called `name` that reaches `target` (`host[:port]`).
    pub fn builder(name: &str, target: &str) -> DynamicBackend {
        DynamicBackend::new(name, target)
    }

    /// The backend's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its health, as last checked.
    pub fn health(&self) -> Result<BackendHealth, Error> {
        Ok(match flag("fastly_backend::is_healthy", &self.name, ffi::is_healthy)? {
            1 => BackendHealth::Healthy,
            2 => BackendHealth::Unhealthy,
            _ => BackendHealth::Unknown,
        })
    }

    /// Whether it was registered at run time.
    pub fn is_dynamic(&self) -> Result<bool, Error> {
        Ok(flag("fastly_backend::is_dynamic", &self.name, ffi::is_dynamic)? == 1)
    }

    /// Whether it is reached over TLS.
    pub fn is_ssl(&self) -> Result<bool, Error> {
        Ok(flag("fastly_backend::is_ssl", &self.name, ffi::is_ssl)? == 1)
    }

    /// The host it connects to.
    pub fn host(&self) -> Result<String, Error> {
        let name = &self.name;
        get_value("fastly_backend::get_host", 128, |buf, len, n| unsafe { ffi::get_host(name.as_ptr(), name.len(), buf, len, n) }).map(text)
    }

    /// The port it connects to.
    pub fn port(&self) -> Result<u16, Error> {
        let mut port = 0u16;
        check("fastly_backend::get_port", unsafe { ffi::get_port(self.name.as_ptr(), self.name.len(), &mut port) })?;
        Ok(port)
    }
}

impl AsRef<str> for Backend {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// A dynamic backend being described; `register` creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicBackend {
    name: String,
    target: String,
    override_host: Option<String>,
    use_ssl: bool,
    connect_timeout_ms: Option<u32>,
    first_byte_timeout_ms: Option<u32>,
    between_bytes_timeout_ms: Option<u32>,
    cert_hostname: Option<String>,
    sni_hostname: Option<String>,
}

/// `$backend_config_options` bits.
mod mask {
    pub const HOST_OVERRIDE: u32 = 1 << 1;
    pub const CONNECT_TIMEOUT: u32 = 1 << 2;
    pub const FIRST_BYTE_TIMEOUT: u32 = 1 << 3;
    pub const BETWEEN_BYTES_TIMEOUT: u32 = 1 << 4;
    pub const USE_SSL: u32 = 1 << 5;
    pub const CERT_HOSTNAME: u32 = 1 << 8;
    pub const SNI_HOSTNAME: u32 = 1 << 11;
}

impl DynamicBackend {
    /// A backend called `name` reaching `target` (`host[:port]`), over plain HTTP until `enable_ssl`.
    pub fn new(name: &str, target: &str) -> DynamicBackend {
        DynamicBackend {
            name: name.to_string(),
            target: target.to_string(),
            override_host: None,
            use_ssl: false,
            connect_timeout_ms: None,
            first_byte_timeout_ms: None,
            between_bytes_timeout_ms: None,
            cert_hostname: None,
            sni_hostname: None,
        }
    }

    /// The `Host` header requests to it carry.
    pub fn override_host(mut self, host: &str) -> DynamicBackend {
        self.override_host = Some(host.to_string());
        self
    }

    /// Connect over TLS.
    pub fn enable_ssl(mut self) -> DynamicBackend {
        self.use_ssl = true;
        self
    }

    pub fn connect_timeout_ms(mut self, ms: u32) -> DynamicBackend {
        self.connect_timeout_ms = Some(ms);
        self
    }

    pub fn first_byte_timeout_ms(mut self, ms: u32) -> DynamicBackend {
        self.first_byte_timeout_ms = Some(ms);
        self
    }

    pub fn between_bytes_timeout_ms(mut self, ms: u32) -> DynamicBackend {
        self.between_bytes_timeout_ms = Some(ms);
        self
    }

    /// The name the server's certificate must carry.
    pub fn cert_hostname(mut self, host: &str) -> DynamicBackend {
        self.cert_hostname = Some(host.to_string());
        self
    }

    /// The TLS server name to send.
    pub fn sni_hostname(mut self, host: &str) -> DynamicBackend {
        self.sni_hostname = Some(host.to_string());
        self
    }

    /// Registers the backend. A name already in use is an error (status `error`).
    pub fn register(self) -> Result<Backend, Error> {
        // `$dynamic_backend_config`: 27 four-byte fields; field i at offset 4 * i.
        let mut config = [0u32; 27];
        let mut bits = 0;
        let mut text_field = |at: usize, bit: u32, value: &Option<String>| {
            if let Some(value) = value {
                config[at] = value.as_ptr() as u32;
                config[at + 1] = value.len() as u32;
                bits |= bit;
            }
        };
        text_field(0, mask::HOST_OVERRIDE, &self.override_host);
        text_field(7, mask::CERT_HOSTNAME, &self.cert_hostname);
        text_field(13, mask::SNI_HOSTNAME, &self.sni_hostname);
        let timeouts = [
            (2, mask::CONNECT_TIMEOUT, self.connect_timeout_ms),
            (3, mask::FIRST_BYTE_TIMEOUT, self.first_byte_timeout_ms),
            (4, mask::BETWEEN_BYTES_TIMEOUT, self.between_bytes_timeout_ms),
        ];
        for (at, bit, ms) in timeouts {
            if let Some(ms) = ms {
                config[at] = ms;
                bits |= bit;
            }
        }
        if self.use_ssl {
            bits |= mask::USE_SSL;
        }
        let (name, target) = (&self.name, &self.target);
        let code = unsafe {
            fastly_http_req::register_dynamic_backend(name.as_ptr(), name.len(), target.as_ptr(), target.len(), bits, config.as_ptr() as *const u8)
        };
        match Status::from_code(code) {
            None => Ok(Backend { name: self.name }),
            Some(status) => Err(Error::Host { call: "fastly_http_req::register_dynamic_backend", status }),
        }
    }
}
