//! End-to-end tests: the real server on a fresh database per test. Run once per backend
//! (`SOCLE_TEST_DATABASE=sqlite|postgres`); see the README's test command.

#![allow(clippy::unwrap_used)]

mod admin_plain;
mod auth;
mod authz;
mod backup;
mod bus;
mod conformance;
mod errors;
mod host_capabilities;
mod isolation;
mod marketplace;
mod marketplace_analytics;
mod marketplace_billing;
mod marketplace_notify;
mod marketplace_retention;
mod marketplace_rollout;
mod ops;
mod plugins;
mod portal;
mod records;
mod secrets;
mod tenants;
mod verticals;
