//! Black-box tests over real HTTP: each runs on SQLite and, when ENTENTE_TEST_POSTGRES_URL is
//! set, on PostgreSQL, from the same body.

// A test binary: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod agreement;
mod among;
mod availability;
mod binary;
mod calendar;
mod calendar_rfc;
mod channels;
mod concurrency;
mod dst_occurrences;
mod feed_queries;
mod feed_validator;
mod forums;
mod history;
mod hostile_input;
mod identity;
mod login_addresses;
mod meetings;
mod newcomer;
mod observances;
mod ops;
mod persistence;
mod proposals;
mod reciprocity;
mod rederive;
mod references;
mod revocation;
mod seeding;
mod series;
mod sessions;
mod slot_search;
mod windows;
