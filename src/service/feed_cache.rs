//! Rendered feeds, kept in memory under their validator (docs/ARCHITECTURE.md, "Feeds"): one
//! entry per feed, bounded in bytes (`ENTENTE_FEED_CACHE_MB`), least recently used first out. The validator is computed
//! from the database on every request, so a cached body is served only while the database
//! would still render it the same — on any instance.

use std::sync::Mutex;

use bytes::Bytes;
use lru::LruCache;

pub struct FeedCache {
    inner: Mutex<Entries>,
    budget: usize,
}

struct Entries {
    /// Feed (its token's hash) → its latest rendering.
    map: LruCache<String, Entry>,
    bytes: usize,
}

/// A rendering under its validator, and its gzip form once a client asked for it.
#[derive(Clone)]
pub struct Entry {
    pub validator: String,
    pub plain: Bytes,
    pub gzip: Option<Bytes>,
}

impl Entry {
    fn len(&self) -> usize {
        self.plain.len() + self.gzip.as_ref().map_or(0, Bytes::len)
    }
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

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rendering of this feed under this validator, if kept.
    pub fn get(&self, feed: &str, validator: &str) -> Option<Entry> {
        self.entries()
            .map
            .get(feed)
            .filter(|entry| entry.validator == validator)
            .cloned()
    }

    /// Keeps a rendering (replacing the feed's earlier one), evicting the least recently used
    /// feeds until the budget holds. A body larger than the whole budget is not kept.
    pub fn put(&self, feed: String, validator: String, body: Bytes) {
        let mut entries = self.entries();
        if let Some(old) = entries.map.pop(&feed) {
            entries.bytes -= old.len();
        }
        if body.len() > self.budget {
            return;
        }
        entries.bytes += body.len();
        let entry = Entry {
            validator,
            plain: body,
            gzip: None,
        };
        entries.map.put(feed, entry);
        self.evict(&mut entries);
    }

    /// Adds the gzip form to the feed's rendering, if it is still the one under `validator`.
    pub fn put_gzip(&self, feed: &str, validator: &str, gzip: Bytes) {
        let mut entries = self.entries();
        let added = gzip.len();
        match entries.map.get_mut(feed) {
            Some(entry) if entry.validator == validator && entry.gzip.is_none() => {
                entry.gzip = Some(gzip);
            }
            _ => return,
        }
        entries.bytes += added;
        self.evict(&mut entries);
    }

    fn evict(&self, entries: &mut Entries) {
        while entries.bytes > self.budget {
            match entries.map.pop_lru() {
                Some((_, evicted)) => entries.bytes -= evicted.len(),
                None => break,
            }
        }
    }

    /// Bytes held.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.entries().bytes
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
        assert_eq!(cache.get("f", "v1").map(|e| e.plain.len()), Some(10));
        assert!(cache.get("f", "v2").is_none());
        assert!(cache.get("g", "v1").is_none());
        // A new rendering replaces the feed's old one.
        cache.put("f".into(), "v2".into(), body(20));
        assert!(cache.get("f", "v1").is_none());
        assert_eq!(cache.bytes(), 20);
        // The gzip form joins the rendering it was made from, and counts.
        cache.put_gzip("f", "v1", body(5));
        assert_eq!(cache.bytes(), 20, "not for another validator");
        cache.put_gzip("f", "v2", body(5));
        assert_eq!(
            cache.get("f", "v2").and_then(|e| e.gzip).map(|g| g.len()),
            Some(5)
        );
        assert_eq!(cache.bytes(), 25);
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
