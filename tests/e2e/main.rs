//! End-to-end tests: the real server on a fresh database per test. Run once per backend
//! (`SOCLE_TEST_DATABASE=sqlite|postgres`); see the README's test command.

#![allow(clippy::unwrap_used)]

mod auth;
mod authz;
mod bus;
mod conformance;
mod errors;
mod isolation;
mod marketplace;
mod ops;
mod plugins;
mod records;
mod tenants;
mod verticals;
