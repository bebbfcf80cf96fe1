//! Operator and billing systems (SNAIC, Alphalink, CFAST, Pennylane…) behind the platform's
//! connectors (capability `connectors`, granted per connector; host API 1.1). The platform holds
//! each connector's endpoint and credentials: a plugin names the connector and the operation,
//! and never holds a URL or a key of its own.

use serde::Serialize;
use serde_json::Value;

use crate::{Error, host};

/// Runs `operation` with `input` on `connector`; returns the connector's JSON answer. A refusal
/// by the remote system is [`Error::Invalid`]; an unreachable system is [`Error::Unavailable`]
/// (retry later); an undeclared or ungranted connector is [`Error::Denied`].
///
/// ```
/// socle_sdk::testing::connector_answer("alphalink", "order-sim", Err("stock épuisé".into()));
/// let refused = socle_sdk::connectors::call("alphalink", "order-sim", &socle_sdk::json!({}));
/// assert!(matches!(refused, Err(socle_sdk::Error::Invalid(_))));
/// ```
pub fn call(connector: &str, operation: &str, input: &impl Serialize) -> Result<Value, Error> {
    host::connectors_call(connector, operation, &serde_json::to_value(input)?)
}
