//! Credentials: argon2id password hashes and the keys that sign access tokens.

pub mod jwt;
pub mod keys;
pub mod password;
