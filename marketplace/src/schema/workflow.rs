//! Workflows: the states of a record (an enum field), the transitions between them and who may
//! fire them, effects on entering and leaving states, and timers (SLA deadlines) that start,
//! pause, resume and fire.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CollectionDef, FieldType, Label, SchemaError, check_permission};

/// A collection's workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    /// The enum field holding the state.
    pub field: String,
    /// State of new records.
    pub initial: String,
    /// Allowed moves.
    #[serde(default)]
    pub transitions: Vec<TransitionDef>,
    /// Effects of entering and leaving states.
    #[serde(default)]
    pub states: Vec<StateDef>,
    /// Timers.
    #[serde(default)]
    pub timers: Vec<TimerDef>,
}

/// A move from some states to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionDef {
    /// Name used in URLs and policies (`start`, `resolve`…).
    pub name: String,
    /// Button label.
    pub label: Label,
    /// States it starts from.
    pub from: Vec<String>,
    /// State it leads to.
    pub to: String,
    /// Permission needed to fire it, besides updating the record.
    #[serde(default)]
    pub permission: Option<String>,
}

/// Effects tied to a state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateDef {
    /// The state.
    pub state: String,
    /// Run when a record enters it (including on creation in the initial state).
    #[serde(default)]
    pub on_enter: Vec<Effect>,
    /// Run when a record leaves it.
    #[serde(default)]
    pub on_exit: Vec<Effect>,
}

/// Something the engine does on a state change or when a timer fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Sets a field.
    Set {
        /// The field.
        field: String,
        /// The value (checked against the field's type).
        value: serde_json::Value,
    },
    /// Starts a timer from its full duration; a timer already counting (or paused) is left as it
    /// is, so re-entering a state does not reset it. A stopped or fired timer starts afresh.
    StartTimer(String),
    /// Pauses a running timer, keeping what is left.
    PauseTimer(String),
    /// Resumes a paused timer.
    ResumeTimer(String),
    /// Stops a timer for good.
    StopTimer(String),
    /// Emits an event to subscribers (plugin action hooks, notifications).
    Emit(String),
}

/// A deadline attached to a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerDef {
    /// Name (`sla`).
    pub name: String,
    /// Fixed duration, like `4h`, `2d`, `90m`.
    #[serde(default)]
    pub duration: Option<String>,
    /// A number field holding the duration in minutes (set per record, e.g. from the ticket type).
    #[serde(default)]
    pub duration_field: Option<String>,
    /// Effects when the deadline passes.
    #[serde(default)]
    pub on_fire: Vec<Effect>,
}

/// Parses `90s`, `45m`, `4h`, `2d` (and combinations like `1d12h`).
///
/// ```
/// use socle_marketplace::schema::parse_duration;
/// assert_eq!(parse_duration("1d2h").unwrap().as_secs(), 26 * 3600);
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total = 0u64;
    let mut number = String::new();
    let invalid = || format!("`{text}` is not a duration; write it like 30m, 4h or 2d");
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        total = total.checked_add(n.checked_mul(unit).ok_or_else(invalid)?).ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

impl WorkflowDef {
    /// The transition called `name`.
    pub fn transition(&self, name: &str) -> Option<&TransitionDef> {
        self.transitions.iter().find(|t| t.name == name)
    }

    /// The effects tied to `state`.
    pub fn state(&self, state: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.state == state)
    }

    /// The timer called `name`.
    pub fn timer(&self, name: &str) -> Option<&TimerDef> {
        self.timers.iter().find(|t| t.name == name)
    }

    pub(super) fn validate(&self, collection: &CollectionDef) -> Result<(), SchemaError> {
        let field = collection
            .field(&self.field)
            .filter(|f| f.field_type == FieldType::Enum && !f.multiple)
            .ok_or_else(|| SchemaError::new("field", format!("`{}` must be a single enum field of the collection", self.field)))?;
        let states: BTreeSet<&str> = field.values.iter().map(|v| v.key.as_str()).collect();
        let state = |path: String, s: &str| -> Result<(), SchemaError> {
            if states.contains(s) { Ok(()) } else { Err(SchemaError::new(path, format!("`{s}` is not a value of `{}`", self.field))) }
        };
        state("initial".into(), &self.initial)?;
        let mut names = BTreeSet::new();
        for (i, t) in self.transitions.iter().enumerate() {
            if !names.insert(t.name.as_str()) || t.name.is_empty() || !t.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(SchemaError::new(format!("transitions[{i}].name"), format!("`{}` must be unique, lowercase letters and `_`", t.name)));
            }
            if t.from.is_empty() {
                return Err(SchemaError::new(format!("transitions[{i}].from"), "name the states the transition starts from"));
            }
            for s in &t.from {
                state(format!("transitions[{i}].from"), s)?;
            }
            state(format!("transitions[{i}].to"), &t.to)?;
            if let Some(p) = &t.permission {
                check_permission(p).map_err(|m| SchemaError::new(format!("transitions[{i}].permission"), m))?;
            }
        }
        let mut timer_names = BTreeSet::new();
        for (i, timer) in self.timers.iter().enumerate() {
            if !timer_names.insert(timer.name.as_str()) {
                return Err(SchemaError::new(format!("timers[{i}].name"), format!("`{}` is declared twice", timer.name)));
            }
            match (&timer.duration, &timer.duration_field) {
                (Some(d), None) => {
                    parse_duration(d).map_err(|m| SchemaError::new(format!("timers[{i}].duration"), m))?;
                }
                (None, Some(f)) => {
                    if collection.field(f).is_none_or(|f| f.field_type != FieldType::Number) {
                        return Err(SchemaError::new(format!("timers[{i}].duration_field"), format!("`{f}` must be a number field (minutes)")));
                    }
                }
                _ => return Err(SchemaError::new(format!("timers[{i}]"), "give either `duration` or `duration_field`")),
            }
            self.validate_effects(collection, &format!("timers[{i}].on_fire"), &timer.on_fire)?;
        }
        for (i, s) in self.states.iter().enumerate() {
            state(format!("states[{i}].state"), &s.state)?;
            self.validate_effects(collection, &format!("states[{i}].on_enter"), &s.on_enter)?;
            self.validate_effects(collection, &format!("states[{i}].on_exit"), &s.on_exit)?;
        }
        Ok(())
    }

    fn validate_effects(&self, collection: &CollectionDef, path: &str, effects: &[Effect]) -> Result<(), SchemaError> {
        for (i, effect) in effects.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match effect {
                Effect::Set { field, value } => {
                    let def = collection.field(field).ok_or_else(|| SchemaError::new(&at, format!("`{field}` is not a field")))?;
                    if field == &self.field {
                        return Err(SchemaError::new(&at, "the state changes only through transitions"));
                    }
                    super::normalize_value(def, value).map_err(|m| SchemaError::new(&at, format!("`{field}`: {m}")))?;
                }
                Effect::StartTimer(t) | Effect::PauseTimer(t) | Effect::ResumeTimer(t) | Effect::StopTimer(t) => {
                    if self.timer(t).is_none() {
                        return Err(SchemaError::new(&at, format!("`{t}` is not a timer of this workflow")));
                    }
                }
                Effect::Emit(event) => {
                    if event.is_empty() || event.len() > 100 {
                        return Err(SchemaError::new(&at, "event names are 1 to 100 characters"));
                    }
                }
            }
        }
        Ok(())
    }
}
