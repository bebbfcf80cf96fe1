//! Socle's marketplace domain: the declarative collection schema (the format plugin manifests and
//! the core's own collections share), the `.socle` package format, digests and signatures,
//! manifest validation, versions and yanking, dependency resolution, rollout and pricing. No SQL and no HTTP live here; the stores are implemented in `socle-core`.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod billing;
pub mod lockfile;
pub mod manifest;
pub mod package;
pub mod resolve;
pub mod rollout;
pub mod schema;
pub mod signing;
pub mod synthetic;
pub mod workspace;
