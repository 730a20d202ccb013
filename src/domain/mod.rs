//! Pure rules: no actix, no diesel, no I/O.

pub mod access;
pub mod agreement;
pub mod availability;
pub mod busy;
pub mod channel;
pub mod delegation;
pub mod edit;
pub mod ical;
pub mod identity;
pub mod meeting;
pub mod observance;
pub mod recurrence;
pub mod stored;
pub mod throttle;
pub mod time;
pub mod vtimezone;
pub mod zone;
