//! Rendered feeds, kept in memory under their validator (docs/ARCHITECTURE.md, "Feeds"): one
//! entry per feed, bounded in bytes, least recently used first out. The validator is computed
//! from the database on every request, so a cached body is served only while the database
//! would still render it the same — on any instance.

use std::sync::Mutex;

use bytes::Bytes;
use lru::LruCache;

/// The bytes kept for rendered feeds by default.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;

pub struct FeedCache {
    inner: Mutex<Entries>,
    budget: usize,
}

struct Entries {
    /// Feed (its token's hash) → (validator, body).
    map: LruCache<String, (String, Bytes)>,
    bytes: usize,
}

impl FeedCache {
    pub fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Entries {
                map: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
        }
    }

    /// The body rendered for this feed under this validator, if kept.
    pub fn get(&self, feed: &str, validator: &str) -> Option<Bytes> {
        let mut entries = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match entries.map.get(feed) {
            Some((kept, body)) if kept == validator => Some(body.clone()),
            _ => None,
        }
    }

    /// Keeps a rendering (replacing the feed's earlier one), evicting the least recently used
    /// feeds until the budget holds. A body larger than the whole budget is not kept.
    pub fn put(&self, feed: String, validator: String, body: Bytes) {
        let mut entries = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, old)) = entries.map.pop(&feed) {
            entries.bytes -= old.len();
        }
        if body.len() > self.budget {
            return;
        }
        entries.bytes += body.len();
        entries.map.put(feed, (validator, body));
        while entries.bytes > self.budget {
            match entries.map.pop_lru() {
                Some((_, (_, evicted))) => entries.bytes -= evicted.len(),
                None => break,
            }
        }
    }

    /// Bytes held (for metrics and tests).
    pub fn bytes(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn a_body_is_served_only_under_its_validator() {
        let cache = FeedCache::new(1000);
        cache.put("f".into(), "v1".into(), body(10));
        assert_eq!(cache.get("f", "v1").map(|b| b.len()), Some(10));
        assert!(cache.get("f", "v2").is_none());
        assert!(cache.get("g", "v1").is_none());
        // A new rendering replaces the feed's old one.
        cache.put("f".into(), "v2".into(), body(20));
        assert!(cache.get("f", "v1").is_none());
        assert_eq!(cache.bytes(), 20);
    }

    #[test]
    fn the_budget_holds_by_evicting_the_least_recently_used() {
        let cache = FeedCache::new(100);
        cache.put("a".into(), "v".into(), body(40));
        cache.put("b".into(), "v".into(), body(40));
        assert!(cache.get("a", "v").is_some()); // a is now the most recently used
        cache.put("c".into(), "v".into(), body(40));
        assert!(
            cache.get("b", "v").is_none(),
            "b was the least recently used"
        );
        assert!(cache.get("a", "v").is_some() && cache.get("c", "v").is_some());
        assert_eq!(cache.bytes(), 80);
        // Larger than the whole budget: not kept, and nothing else is lost for it.
        cache.put("d".into(), "v".into(), body(101));
        assert!(cache.get("d", "v").is_none());
        assert_eq!(cache.bytes(), 80);
    }
}
