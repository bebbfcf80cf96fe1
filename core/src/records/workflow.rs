//! Workflow effects and timers: what entering or leaving a state, or a timer firing, does to a
//! record. Pure functions over the record's data and timer rows; the engine persists the result
//! in the write's transaction.

use serde_json::{Map, Value};
use socle_marketplace::schema::{CollectionDef, Effect, FieldType, WorkflowDef, format_datetime, normalize_value, parse_duration};

use super::RecordError;
use super::store::TimerRow;

/// What effects asked for besides field changes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EffectOutcome {
    /// Timer operations, in order.
    pub timers: Vec<(String, TimerOp)>,
    /// Events to emit.
    pub events: Vec<String>,
}

/// A timer operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerOp {
    /// Start from the full duration (unless already running or paused).
    Start,
    /// Pause, keeping what is left.
    Pause,
    /// Resume a paused timer.
    Resume,
    /// Stop for good.
    Stop,
    /// Mark fired.
    Fired,
}

/// Applies `effects` to `data`, collecting timer operations and events in `out`.
pub fn apply_effects(collection: &CollectionDef, effects: &[Effect], data: &mut Map<String, Value>, out: &mut EffectOutcome) -> Result<(), RecordError> {
    for effect in effects {
        match effect {
            Effect::Set { field, value } => {
                let def = collection.field(field).ok_or_else(|| RecordError::invalid(field, "the workflow sets a field that does not exist"))?;
                let value = normalize_value(def, value).map_err(|m| RecordError::invalid(field, m))?;
                if value.is_null() {
                    data.remove(field);
                } else {
                    data.insert(field.clone(), value);
                }
            }
            Effect::StartTimer(t) => out.timers.push((t.clone(), TimerOp::Start)),
            Effect::PauseTimer(t) => out.timers.push((t.clone(), TimerOp::Pause)),
            Effect::ResumeTimer(t) => out.timers.push((t.clone(), TimerOp::Resume)),
            Effect::StopTimer(t) => out.timers.push((t.clone(), TimerOp::Stop)),
            Effect::Emit(event) => out.events.push(event.clone()),
        }
    }
    Ok(())
}

/// A timer's full duration for this record, in ms: fixed, or from its minutes field.
pub fn duration_ms(workflow: &WorkflowDef, timer: &str, data: &Map<String, Value>) -> Option<i64> {
    let def = workflow.timer(timer)?;
    if let Some(text) = &def.duration {
        return parse_duration(text).ok().and_then(|d| i64::try_from(d.as_millis()).ok());
    }
    let minutes = data.get(def.duration_field.as_deref()?)?.as_f64()?;
    (minutes > 0.0).then_some((minutes * 60_000.0) as i64)
}

/// Applies timer operations to the record's timer rows; returns the rows that changed. Each
/// timer mirrors its deadline into a `<timer>_due_at` datetime field when the collection has one,
/// so lists can sort and filter on it.
pub fn apply_timer_ops(
    collection: &CollectionDef,
    workflow: &WorkflowDef,
    current: &[TimerRow],
    ops: &[(String, TimerOp)],
    data: &mut Map<String, Value>,
    now: i64,
) -> Vec<TimerRow> {
    let mut changed: Vec<TimerRow> = Vec::new();
    for (name, op) in ops {
        let existing = changed.iter().find(|t| &t.name == name).or_else(|| current.iter().find(|t| &t.name == name)).cloned();
        let next = match (op, existing) {
            // A counting (or paused) timer keeps counting: re-entering a state does not reset it.
            (TimerOp::Start, Some(t)) if matches!(t.status.as_str(), "running" | "paused") => None,
            (TimerOp::Start, _) => match duration_ms(workflow, name, data) {
                Some(ms) => Some(TimerRow { name: name.clone(), status: "running".into(), due_at: Some(now + ms), remaining_ms: None, started_at: now }),
                None => {
                    tracing::warn!(collection = %collection.name, timer = %name, "timer not started: it has no duration for this record");
                    None
                }
            },
            (TimerOp::Pause, Some(t)) if t.status == "running" => {
                Some(TimerRow { status: "paused".into(), remaining_ms: t.due_at.map(|due| (due - now).max(0)), due_at: None, ..t })
            }
            (TimerOp::Resume, Some(t)) if t.status == "paused" => {
                Some(TimerRow { status: "running".into(), due_at: Some(now + t.remaining_ms.unwrap_or(0)), remaining_ms: None, ..t })
            }
            (TimerOp::Stop, Some(t)) if matches!(t.status.as_str(), "running" | "paused") => {
                Some(TimerRow { status: "stopped".into(), remaining_ms: t.due_at.map(|d| d - now).or(t.remaining_ms), due_at: None, ..t })
            }
            (TimerOp::Fired, Some(t)) if t.status == "running" => Some(TimerRow { status: "fired".into(), ..t }),
            _ => None,
        };
        if let Some(row) = next {
            let mirror = format!("{name}_due_at");
            if collection.field(&mirror).is_some_and(|f| f.field_type == FieldType::Datetime) {
                match row.due_at.and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()) {
                    Some(at) => {
                        data.insert(mirror, Value::String(format_datetime(at)));
                    }
                    None if row.status != "fired" => {
                        data.remove(&mirror);
                    }
                    None => {}
                }
            }
            changed.retain(|t| t.name != row.name);
            changed.push(row);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use socle_marketplace::schema::SchemaFile;

    use super::*;

    fn tickets() -> CollectionDef {
        SchemaFile::parse(
            r#"
[[collections]]
name = "t.ticket"
label = "Tickets"
[[collections.fields]]
name = "status"
type = "enum"
label = "Statut"
values = [{ key = "ouvert", label = "Ouvert" }, { key = "attente", label = "En attente" }]
[[collections.fields]]
name = "sla_minutes"
type = "number"
label = "SLA"
[[collections.fields]]
name = "sla_due_at"
type = "datetime"
label = "Échéance"
[collections.workflow]
field = "status"
initial = "ouvert"
timers = [{ name = "sla", duration_field = "sla_minutes" }]
"#,
        )
        .unwrap()
        .collections
        .remove(0)
    }

    #[test]
    fn a_timer_pauses_keeping_what_is_left_and_resumes_from_there() {
        let c = tickets();
        let w = c.workflow.clone().unwrap();
        let mut data = Map::new();
        data.insert("sla_minutes".into(), Value::from(60));
        let started = apply_timer_ops(&c, &w, &[], &[("sla".into(), TimerOp::Start)], &mut data, 0);
        assert_eq!(started[0].due_at, Some(3_600_000));
        assert_eq!(data["sla_due_at"], "1970-01-01T01:00:00.000Z");
        let paused = apply_timer_ops(&c, &w, &started, &[("sla".into(), TimerOp::Pause)], &mut data, 600_000);
        assert_eq!((paused[0].status.as_str(), paused[0].remaining_ms), ("paused", Some(3_000_000)));
        assert!(!data.contains_key("sla_due_at"));
        let resumed = apply_timer_ops(&c, &w, &paused, &[("sla".into(), TimerOp::Resume)], &mut data, 7_200_000);
        assert_eq!(resumed[0].due_at, Some(10_200_000));
        // Operations that do not apply change nothing.
        assert!(apply_timer_ops(&c, &w, &resumed, &[("sla".into(), TimerOp::Resume)], &mut data, 0).is_empty());
    }
}
