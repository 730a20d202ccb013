//! A feed served to a calendar client: found by its token, validated from the change stamps of
//! what it shows (`store::feed_stamps`), rendered only when the cache has no rendering under
//! that validator.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::export::{events, token_hash, FeedScope, FEED_PAST_DAYS};
use super::feed_cache::{Coding, Entry, FeedCache};
use crate::domain::ical;
use crate::domain::stored::DelegationId;
use crate::error::AppError;
use crate::gate::Gate;
use crate::store::delegations;
#[cfg(test)]
use crate::store::feeds::StampTimes;
use crate::store::feeds::{self as rows, FeedStamps, SubscriptionRow};
use crate::store::meetings as meeting_rows;
use crate::store::windows::{self, Window};
use crate::store::{stored, Store};

/// A feed as served: its cache entry (validator, body and the compressed forms made so far,
/// shared with the cache), and the key it is kept under.
pub struct RenderedFeed {
    /// The feed's entry in the cache (its token's hash).
    key: String,
    pub entry: Entry,
    /// When what the feed shows last changed, at the latest (see `feed_last_modified`).
    pub last_modified: DateTime<Utc>,
}

impl RenderedFeed {
    /// Its `ETag`.
    pub fn etag(&self) -> &str {
        &self.entry.validator
    }

    /// The body in `coding`: made once per rendering, then kept with it.
    pub fn compressed(&self, coding: Coding, cache: &FeedCache) -> Result<Bytes, AppError> {
        if let Some(form) = self.entry.compressed(coding) {
            return Ok(form.clone());
        }
        coding
            .compress(&self.entry.plain)
            .map(|form| {
                let form = Bytes::from(form);
                cache.put_compressed(&self.key, &self.entry.validator, coding, form.clone());
                form
            })
            .map_err(|e| AppError::internal(format!("{}: {e}", coding.token())))
    }
}

/// The calendar behind a feed token, or None (404) for an unknown or revoked token or a
/// deactivated owner. The token is looked up by its hash and the hash compared in constant time.
///
/// Its validator is computed from the stamps of what the feed shows (`store::feed_stamps`: moved
/// in the transaction of every change that can alter it), the feed's name and scope, the day
/// its window starts, the tz data and this build — a few rows by key, whatever the feed holds —
/// and the rendering is taken from `cache` when it was made under the same validator; otherwise
/// it is rendered and kept.
pub async fn feed_calendar(
    store: &Store,
    (cache, renders): (&Arc<FeedCache>, &Gate),
    token: String,
) -> Result<Option<RenderedFeed>, AppError> {
    let hash = token_hash(&token);
    let kept = cache.clone();
    let validated = store
        .read(move |conn| {
            let Some((found, stamps)) = rows::validation(conn, &hash)? else {
                return Ok::<_, AppError>(None);
            };
            if !bool::from(found.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
                return Ok(None);
            }
            let delegation_id = found.owner_delegation_id.clone().map(DelegationId::from);
            // From midnight (UTC) so many days ago: what a feed holds changes with the day.
            let since = (Utc::now() - TimeDelta::days(FEED_PAST_DAYS))
                .date_naive()
                .and_time(chrono::NaiveTime::MIN);
            let window = Window {
                from: since,
                to: None,
            };
            // The validator digests the stamps of what the feed shows, read with the feed; the
            // meetings and names are read only when rendering.
            let visible = stored::<FeedScope>(&found.scope)? == FeedScope::Visible;
            let etag = feed_validator(&found, since, stamps);
            let last_modified = feed_last_modified(&found, since, stamps);
            let hit = kept.get(&hash, &etag);
            Ok(Some((
                found,
                (hash, etag, last_modified),
                (window, delegation_id, visible),
                hit,
            )))
        })
        .await?;
    let Some((found, (hash, etag, last_modified), (window, delegation_id, visible), hit)) =
        validated
    else {
        return Ok(None);
    };
    if let Some(kept) = hit {
        return Ok(Some(RenderedFeed {
            key: hash,
            entry: kept,
            last_modified,
        }));
    }
    // Only a rendering takes a turn at the gate: validations and cache hits do not wait for it.
    let _turn = renders.enter().await?;
    let cache = cache.clone();
    store
        .read(move |conn| {
            let ids = match (visible, &delegation_id) {
                (false, Some(d)) => windows::participation_ids(conn, d.as_str(), window)?,
                (false, None) => Vec::new(),
                (true, viewer) => windows::visible_ids(conn, viewer.as_ref(), window)?,
            };
            let parties = delegations::all_parties(conn)?;
            let rows = meeting_rows::by_ids_with_cancelled(conn, ids)?;
            let body = Bytes::from(ical::calendar(
                Some(&found.name),
                true,
                &events(conn, rows, &parties)?,
            ));
            let entry = Entry::new(etag, body);
            cache.put(hash.clone(), entry.clone());
            Ok(Some(RenderedFeed {
                key: hash,
                entry,
                last_modified,
            }))
        })
        .await
}

/// The feed's `Last-Modified`: the latest move of a stamp its validator digests, or the start
/// of the day its window last moved (a meeting may have left it then), whichever is later.
/// Never earlier than a change of what it shows; a change to the build or the tz data without
/// a re-derivation moves the ETag only.
fn feed_last_modified(
    feed: &SubscriptionRow,
    since: chrono::NaiveDateTime,
    stamps: FeedStamps,
) -> DateTime<Utc> {
    let visible = feed.scope == FeedScope::Visible.as_str();
    let changed = stamps.changed;
    let shared = [changed.public, changed.forums]
        .into_iter()
        .filter(|_| visible);
    let window_moved = since + TimeDelta::days(FEED_PAST_DAYS);
    std::iter::once(changed.own)
        .chain(shared)
        .flatten()
        .fold(window_moved, std::cmp::max)
        .and_utc()
}

/// The feed's ETag: a digest of everything its rendering depends on (see `feed_calendar`).
fn feed_validator(
    feed: &SubscriptionRow,
    since: chrono::NaiveDateTime,
    stamps: FeedStamps,
) -> String {
    let mut digest = Sha256::new()
        .chain_update(b"entente-feed\0")
        .chain_update(env!("CARGO_PKG_VERSION"))
        .chain_update(b"\0")
        .chain_update(crate::domain::zone::TZDB_VERSION)
        .chain_update(b"\0")
        .chain_update(since.to_string())
        .chain_update(b"\0")
        .chain_update(&feed.name)
        .chain_update(b"\0")
        .chain_update(&feed.scope);
    // A `participating` feed shows no public nor forum meetings: those do not move it.
    let visible = feed.scope == FeedScope::Visible.as_str();
    let FeedStamps {
        names,
        public,
        delegation,
        forums,
        changed: _,
    } = stamps;
    let shown = |stamp: Option<i64>, shown: bool| match (stamp, shown) {
        (Some(n), true) => n.to_string(),
        _ => "-".to_owned(),
    };
    digest.update(format!(
        "\0s{}:{}:{}:{}",
        shown(names, true),
        shown(delegation, true),
        shown(public, visible),
        shown(forums, visible)
    ));
    let hex: String = digest.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(scope: FeedScope) -> SubscriptionRow {
        SubscriptionRow {
            token_hash: "h".into(),
            name: "Ours".into(),
            scope: scope.as_str().into(),
            owner_delegation_id: Some("d".into()),
        }
    }

    fn day(d: u32) -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2027, 1, d)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .unwrap()
    }

    const STAMPS: FeedStamps = FeedStamps {
        names: Some(3),
        public: Some(5),
        delegation: Some(7),
        forums: None,
        changed: StampTimes {
            own: None,
            public: None,
            forums: None,
        },
    };

    #[test]
    fn the_validator_moves_with_what_the_feed_shows_and_only_with_it() {
        let participating = feed(FeedScope::Participating);
        let visible = feed(FeedScope::Visible);
        let etag = |f: &SubscriptionRow, since, stamps| feed_validator(f, since, stamps);
        let base = etag(&participating, day(1), STAMPS);
        assert_eq!(base, etag(&participating, day(1), STAMPS), "deterministic");
        // The window's first day (the passage of a day), names, the delegation's meetings.
        assert_ne!(base, etag(&participating, day(2), STAMPS));
        let moved = |f: fn(&mut FeedStamps)| {
            let mut stamps = STAMPS;
            f(&mut stamps);
            stamps
        };
        assert_ne!(
            base,
            etag(&participating, day(1), moved(|s| s.names = Some(4)))
        );
        assert_ne!(
            base,
            etag(&participating, day(1), moved(|s| s.delegation = Some(8)))
        );
        // A participating feed shows no public nor forum meetings: their stamps do not move it.
        assert_eq!(
            base,
            etag(&participating, day(1), moved(|s| s.public = Some(6)))
        );
        assert_eq!(
            base,
            etag(&participating, day(1), moved(|s| s.forums = Some(1)))
        );
        // A visible feed shows both; and it is another feed than the participating one.
        let all = etag(&visible, day(1), STAMPS);
        assert_ne!(all, base);
        assert_ne!(all, etag(&visible, day(1), moved(|s| s.public = Some(6))));
        assert_ne!(all, etag(&visible, day(1), moved(|s| s.forums = Some(1))));
        let renamed = SubscriptionRow {
            name: "Theirs".into(),
            ..participating.clone()
        };
        assert_ne!(base, etag(&renamed, day(1), STAMPS));
    }

    #[test]
    fn last_modified_is_the_latest_move_of_what_the_feed_shows_or_the_window_day() {
        let at = |d: u32, h: u32| day(d) + TimeDelta::hours(i64::from(h));
        let window_day = day(1) + TimeDelta::days(FEED_PAST_DAYS);
        let with = |own, public, forums| FeedStamps {
            changed: StampTimes {
                own,
                public,
                forums,
            },
            ..STAMPS
        };
        let participating = feed(FeedScope::Participating);
        let visible = feed(FeedScope::Visible);
        let lm = |f: &SubscriptionRow, stamps| feed_last_modified(f, day(1), stamps).naive_utc();
        // Nothing moved since the window's day began: that day.
        assert_eq!(lm(&participating, with(None, None, None)), window_day);
        assert_eq!(lm(&visible, with(Some(at(1, 5)), None, None)), window_day);
        // A later move of the feed's own stamps.
        let later = window_day + TimeDelta::hours(3);
        assert_eq!(lm(&participating, with(Some(later), None, None)), later);
        // Public and forum meetings: only in a visible feed.
        let latest = later + TimeDelta::minutes(7);
        assert_eq!(
            lm(
                &participating,
                with(Some(later), Some(latest), Some(latest))
            ),
            later
        );
        assert_eq!(lm(&visible, with(Some(later), Some(latest), None)), latest);
        assert_eq!(lm(&visible, with(None, Some(later), Some(latest))), latest);
    }
}
