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

/// A rendering under its validator, and its compressed forms once a client asked for them.
#[derive(Clone)]
pub struct Entry {
    pub validator: String,
    pub plain: Bytes,
    pub gzip: Option<Bytes>,
    pub br: Option<Bytes>,
}

/// A content coding a feed is sent in (RFC 9110 §8.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Brotli,
}

impl Coding {
    /// Its name in `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Brotli => "br",
        }
    }

    /// What its representation's ETag ends in (another representation, another ETag).
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Self::Gzip => "-gz",
            Self::Brotli => "-br",
        }
    }

    /// `body` in this coding: gzip at its fast level, brotli at quality 5 (most of brotli's
    /// gain over gzip, at a few milliseconds per 500 KB); made once per rendering.
    pub fn compress(self, body: &[u8]) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        let out = Vec::with_capacity(body.len() / 4);
        match self {
            Self::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
                encoder.write_all(body)?;
                encoder.finish()
            }
            Self::Brotli => {
                let mut encoder = brotli::CompressorWriter::new(out, 64 * 1024, 5, 22);
                encoder.write_all(body)?;
                encoder.flush()?;
                Ok(encoder.into_inner())
            }
        }
    }
}

impl Entry {
    /// A new rendering, not yet compressed.
    pub fn new(validator: String, plain: Bytes) -> Self {
        Self {
            validator,
            plain,
            gzip: None,
            br: None,
        }
    }

    fn len(&self) -> usize {
        self.plain.len()
            + self.gzip.as_ref().map_or(0, Bytes::len)
            + self.br.as_ref().map_or(0, Bytes::len)
    }

    /// Its form in `coding`, if made.
    pub fn compressed(&self, coding: Coding) -> Option<&Bytes> {
        match coding {
            Coding::Gzip => self.gzip.as_ref(),
            Coding::Brotli => self.br.as_ref(),
        }
    }

    fn slot(&mut self, coding: Coding) -> &mut Option<Bytes> {
        match coding {
            Coding::Gzip => &mut self.gzip,
            Coding::Brotli => &mut self.br,
        }
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
    pub fn put(&self, feed: String, entry: Entry) {
        let mut entries = self.entries();
        if let Some(old) = entries.map.pop(&feed) {
            entries.bytes -= old.len();
        }
        if entry.len() > self.budget {
            return;
        }
        entries.bytes += entry.len();
        entries.map.put(feed, entry);
        self.evict(&mut entries);
    }

    /// Adds a compressed form to the feed's rendering, if it is still the one under
    /// `validator`.
    pub fn put_compressed(&self, feed: &str, validator: &str, coding: Coding, form: Bytes) {
        let mut entries = self.entries();
        let added = form.len();
        match entries.map.get_mut(feed) {
            Some(entry) if entry.validator == validator && entry.compressed(coding).is_none() => {
                *entry.slot(coding) = Some(form);
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
        cache.put("f".into(), Entry::new("v1".into(), body(10)));
        assert_eq!(cache.get("f", "v1").map(|e| e.plain.len()), Some(10));
        assert!(cache.get("f", "v2").is_none());
        assert!(cache.get("g", "v1").is_none());
        // A new rendering replaces the feed's old one.
        cache.put("f".into(), Entry::new("v2".into(), body(20)));
        assert!(cache.get("f", "v1").is_none());
        assert_eq!(cache.bytes(), 20);
        // A compressed form joins the rendering it was made from, and counts.
        cache.put_compressed("f", "v1", Coding::Gzip, body(5));
        assert_eq!(cache.bytes(), 20, "not for another validator");
        cache.put_compressed("f", "v2", Coding::Gzip, body(5));
        assert_eq!(
            cache.get("f", "v2").and_then(|e| e.gzip).map(|g| g.len()),
            Some(5)
        );
        cache.put_compressed("f", "v2", Coding::Brotli, body(4));
        let entry = cache.get("f", "v2").unwrap();
        assert_eq!(entry.compressed(Coding::Brotli).map(Bytes::len), Some(4));
        assert_eq!(cache.bytes(), 29);
        // Made once: a second form of the same coding is not added.
        cache.put_compressed("f", "v2", Coding::Brotli, body(7));
        assert_eq!(cache.bytes(), 29);
    }

    #[test]
    fn every_coding_reads_back_to_the_body() {
        let text = "BEGIN:VCALENDAR\r\n".repeat(1000);
        let gzip = Coding::Gzip.compress(text.as_bytes()).unwrap();
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        let br = Coding::Brotli.compress(text.as_bytes()).unwrap();
        let mut unbrotlied = String::new();
        std::io::Read::read_to_string(
            &mut brotli::Decompressor::new(&br[..], 4096),
            &mut unbrotlied,
        )
        .unwrap();
        assert_eq!(unbrotlied, text);
        assert!(br.len() < text.len() / 10 && gzip.len() < text.len() / 10);
    }

    #[test]
    fn the_budget_holds_by_evicting_the_least_recently_used() {
        let cache = FeedCache::new(100);
        cache.put("a".into(), Entry::new("v".into(), body(40)));
        cache.put("b".into(), Entry::new("v".into(), body(40)));
        assert!(cache.get("a", "v").is_some()); // a is now the most recently used
        cache.put("c".into(), Entry::new("v".into(), body(40)));
        assert!(
            cache.get("b", "v").is_none(),
            "b was the least recently used"
        );
        assert!(cache.get("a", "v").is_some() && cache.get("c", "v").is_some());
        assert_eq!(cache.bytes(), 80);
        // Larger than the whole budget: not kept, and nothing else is lost for it.
        cache.put("d".into(), Entry::new("v".into(), body(101)));
        assert!(cache.get("d", "v").is_none());
        assert_eq!(cache.bytes(), 80);
    }
}
