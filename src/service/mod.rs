//! Use cases: authorization, one transaction each, orchestration of domain rules and the store.

pub mod audit;
pub mod bootstrap;
