//! Decrypted CA keys kept in memory by a long-running process (`pgca serve`): an encrypted
//! key's derivation (scrypt N=2^14 r=8 p=8, about 0.2 s on two cores) is paid once, at start,
//! not once per request. A key is found by the SHA-256 of its file's contents, so a key file
//! that changes (a rollover's new key, a passphrase change) is decrypted again; the plain
//! PKCS#8 DER is zeroized when the cache is dropped, and never printed (`Debug` shows a count).

use std::sync::Mutex;

use zeroize::Zeroizing;

/// The cache; shared by the clones of one [`crate::CaDir`].
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: Mutex<Vec<(String, Zeroizing<Vec<u8>>)>>,
}

/// At most this many keys (a side's current, next, issuing and next issuing CA: eight in all).
const MAX_KEYS: usize = 8;

impl KeyCache {
    /// The plain PKCS#8 DER of the key file whose contents hash to `digest`, if decrypted before.
    pub(crate) fn get(&self, digest: &str) -> Option<Zeroizing<Vec<u8>>> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .find(|(d, _)| d == digest)
            .map(|(_, der)| Zeroizing::new(der.to_vec()))
    }

    /// Keeps `der`, the plain key of the file whose contents hash to `digest`.
    pub(crate) fn put(&self, digest: String, der: &[u8]) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.iter().any(|(d, _)| *d == digest) {
            return;
        }
        if keys.len() >= MAX_KEYS {
            keys.remove(0);
        }
        keys.push((digest, Zeroizing::new(der.to_vec())));
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.keys.lock().map(|k| k.len()).unwrap_or(0);
        write!(f, "KeyCache({n} keys)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_digest_bounded_and_never_printed() {
        let cache = KeyCache::default();
        assert!(cache.get("a").is_none());
        cache.put("a".into(), b"secret-a");
        assert_eq!(cache.get("a").unwrap().as_slice(), b"secret-a");
        for i in 0..MAX_KEYS {
            cache.put(format!("k{i}"), b"other");
        }
        assert!(
            cache.get("a").is_none(),
            "the oldest is dropped past the bound"
        );
        assert!(!format!("{cache:?}").contains("secret"));
    }
}
