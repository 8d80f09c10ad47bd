//! Idempotent rating submission: a client that did not hear the answer to a rating (a network
//! error, a server killed after its commit) sends it again with the same key and gets the first
//! answer, and nothing new is stored. The key comes in the `Idempotency-Key` header (JSON API)
//! or the rating page's hidden `request_key` field; it is recorded, hashed with the code, in the
//! rating's own transaction and kept for a day (`store::ratings::REQUEST_KEY_MS`).
//!
//! Two copies of one request arriving at one server process at once are taken one after the
//! other ([`KeyLocks`]), so the second finds the first's answer. Copies arriving at the same
//! moment at two server processes could both be stored (the key then keeps the first answer):
//! a client retries after a failure, not in parallel, so this is documented rather than locked
//! across processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::FieldError;

/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 100;

/// A client's idempotency key, checked: 1 to 100 visible ASCII characters.
pub fn parse_key(field: &str, key: &str) -> Result<String, FieldError> {
    let key = key.trim();
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(field, "1 to 100 visible ASCII characters, new for each rating (a UUID)"));
    }
    Ok(key.to_owned())
}

/// One lock per request key in flight in this process.
#[derive(Debug, Default)]
pub struct KeyLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

/// Held while a keyed request is looked up and stored; the key's entry goes when the last
/// holder does.
pub struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    key: String,
    _held: tokio::sync::OwnedMutexGuard<()>,
}

impl KeyLocks {
    /// Waits for any other request with `key` in this process, then holds the key.
    pub async fn lock(&self, key: &str) -> KeyGuard<'_> {
        let lock = match self.0.lock() {
            Ok(mut map) => map.entry(key.to_owned()).or_default().clone(),
            Err(poisoned) => poisoned.into_inner().entry(key.to_owned()).or_default().clone(),
        };
        KeyGuard { locks: self, key: key.to_owned(), _held: lock.lock_owned().await }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        let mut map = match self.locks.0.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        // The map's reference and this guard's: nobody else waits.
        if map.get(&self.key).is_some_and(|l| Arc::strong_count(l) <= 2) {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert_eq!(parse_key("k", " 4f1c-9a ").ok().as_deref(), Some("4f1c-9a"));
        for bad in ["", "with space", "中文", &"x".repeat(101)] {
            assert!(parse_key("k", bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_second_holder_waits_and_the_entry_goes_with_the_last() {
        let locks = KeyLocks::default();
        let first = locks.lock("k").await;
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock("k")).await;
        assert!(waiting.is_err(), "the second waits for the first");
        drop(first);
        let second = locks.lock("k").await;
        drop(second);
        assert!(locks.0.lock().map(|m| m.is_empty()).unwrap_or(false));
    }
}
