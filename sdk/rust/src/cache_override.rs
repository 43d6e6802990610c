//! How the readthrough cache treats a request sent to a backend.

/// Overrides the caching the origin's headers would give a backend
/// response. The default (`CacheOverride::none()`) follows the origin.
///
/// ```ignore
/// req.set_cache_override(&CacheOverride::ttl(60).with_stale_while_revalidate(30).with_surrogate_key("products"));
/// req.set_cache_override(&CacheOverride::pass());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheOverride {
    pass: bool,
    ttl: Option<u32>,
    stale_while_revalidate: Option<u32>,
    pci: bool,
    surrogate_key: Option<String>,
}

/// `$cache_override_tag` bits.
const PASS: u32 = 1 << 0;
const TTL: u32 = 1 << 1;
const SWR: u32 = 1 << 2;
const PCI: u32 = 1 << 3;

impl CacheOverride {
    /// No override: the origin's headers decide.
    pub fn none() -> CacheOverride {
        CacheOverride::default()
    }

    /// Neither look the request up in the cache nor store its response.
    pub fn pass() -> CacheOverride {
        CacheOverride { pass: true, ..CacheOverride::default() }
    }

    /// Cache the response for `seconds`, whatever the origin says.
    pub fn ttl(seconds: u32) -> CacheOverride {
        CacheOverride::default().with_ttl(seconds)
    }

    /// Sets the time to live, in seconds.
    pub fn with_ttl(mut self, seconds: u32) -> CacheOverride {
        self.ttl = Some(seconds);
        self
    }

    /// Serve the response stale for `seconds` after it expires while it is revalidated.
    pub fn with_stale_while_revalidate(mut self, seconds: u32) -> CacheOverride {
        self.stale_while_revalidate = Some(seconds);
        self
    }

    /// Tag the stored response with a surrogate key (several: separated by spaces), for purging.
    pub fn with_surrogate_key(mut self, key: impl Into<String>) -> CacheOverride {
        self.surrogate_key = Some(key.into());
        self
    }

    /// Keep the response out of persistent storage (PCI).
    pub fn with_pci(mut self, pci: bool) -> CacheOverride {
        self.pci = pci;
        self
    }

    /// Whether this is a pass.
    pub fn is_pass(&self) -> bool {
        self.pass
    }

    /// The arguments of `cache_override_v2_set`: tag, ttl, swr and surrogate key.
    pub(crate) fn to_abi(&self) -> (u32, u32, u32, &[u8]) {
        let mut tag = 0;
        if self.pass {
            tag |= PASS;
        }
        if self.ttl.is_some() {
            tag |= TTL;
        }
        if self.stale_while_revalidate.is_some() {
            tag |= SWR;
        }
        if self.pci {
            tag |= PCI;
        }
        let key = self.surrogate_key.as_deref().unwrap_or("").as_bytes();
        (tag, self.ttl.unwrap_or(0), self.stale_while_revalidate.unwrap_or(0), key)
    }
}
