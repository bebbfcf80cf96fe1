use serde_json::json;

use super::*;

const TICKETS: &str = r#"
[[collections]]
name = "helpdesk.ticket"
label = { fr = "Tickets", en = "Tickets" }
title_field = "subject"

[[collections.fields]]
name = "subject"
type = "text"
label = "Objet"
required = true
max_length = 200

[[collections.fields]]
name = "status"
type = "enum"
label = "Statut"
values = [{ key = "ouvert", label = "Ouvert" }, { key = "en_cours", label = "En cours" }, { key = "resolu", label = "Résolu" }]

[[collections.fields]]
name = "sla_minutes"
type = "number"
label = "SLA (minutes)"
decimals = 0

[collections.workflow]
field = "status"
initial = "ouvert"
transitions = [
  { name = "start", label = "Démarrer", from = ["ouvert"], to = "en_cours" },
  { name = "resolve", label = "Résoudre", from = ["ouvert", "en_cours"], to = "resolu", permission = "voir_tickets_n2" },
]
timers = [{ name = "sla", duration_field = "sla_minutes", on_fire = [{ emit = "sla.breached" }] }]
states = [{ state = "resolu", on_enter = [{ stop_timer = "sla" }] }]
"#;

#[test]
fn a_full_collection_parses() {
    let file = SchemaFile::parse(TICKETS).unwrap();
    let tickets = &file.collections[0];
    let workflow = tickets.workflow.as_ref().unwrap();
    assert_eq!(workflow.transition("resolve").unwrap().from, ["ouvert", "en_cours"]);
    assert_eq!(workflow.state("resolu").unwrap().on_enter, [Effect::StopTimer("sla".into())]);
    assert_eq!(tickets.label.get("en"), "Tickets");
}

#[test]
fn errors_name_the_line_or_the_field_to_fix() {
    let err = SchemaFile::parse("[[collections]]\nname = \"x\"\nlabel = 3\n").unwrap_err();
    assert!(err.path.starts_with("line 3"), "{err}");
    let err = SchemaFile::parse(&TICKETS.replace("max_length = 200", "max_length = 200\nvalues = []\nmin = 1")).unwrap_err();
    assert_eq!(err.path, "collections[0] (helpdesk.ticket).fields[0].min");
    assert!(err.message.contains("only applies to number fields"), "{err}");
    let err = SchemaFile::parse(&TICKETS.replace("to = \"resolu\"", "to = \"ferme\"")).unwrap_err();
    assert!(err.path.ends_with("workflow.transitions[1].to"), "{err}");
    assert!(err.message.contains("`ferme` is not a value of `status`"));
    let err = SchemaFile::parse(&TICKETS.replace("duration_field = \"sla_minutes\"", "duration = \"soon\"")).unwrap_err();
    assert!(err.message.contains("not a duration"), "{err}");
    let err = SchemaFile::parse(&TICKETS.replace("name = \"subject\"", "name = \"id\"")).unwrap_err();
    assert!(err.message.contains("reserved"), "{err}");
    let err = SchemaFile::parse(&TICKETS.replace("\"helpdesk.ticket\"", "\"Helpdesk Tickets\"")).unwrap_err();
    assert!(err.path.ends_with("name"), "{err}");
    let err = SchemaFile::parse(&TICKETS.replace("title_field = \"subject\"", "title_field = \"sujet\"")).unwrap_err();
    assert!(err.path.ends_with("title_field"), "{err}");
    let err = SchemaFile::parse(&TICKETS.replace("type = \"text\"", "type = \"string\"")).unwrap_err();
    assert!(err.message.contains("unknown variant `string`"), "{err}");
}

fn field(toml_text: &str) -> FieldDef {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn values_are_checked_and_normalised() {
    let text = field("name = \"t\"\ntype = \"text\"\nlabel = \"T\"\nmax_length = 5");
    assert_eq!(normalize_value(&text, &json!("  abc ")).unwrap(), json!("abc"));
    assert!(normalize_value(&text, &json!("abcdef")).unwrap_err().contains("at most 5"));
    assert!(normalize_value(&text, &json!("a\nb")).is_err());
    assert!(normalize_value(&text, &json!(3)).is_err());

    let number = field("name = \"n\"\ntype = \"number\"\nlabel = \"N\"\nmin = 0\nmax = 100\ndecimals = 2");
    assert_eq!(normalize_value(&number, &json!(12.345)).unwrap(), json!(12.35));
    assert_eq!(normalize_value(&number, &json!("12,5")).unwrap(), json!(12.5));
    assert_eq!(normalize_value(&number, &json!(42.0)).unwrap(), json!(42));
    assert!(normalize_value(&number, &json!(-1)).unwrap_err().contains("at least 0"));

    let money = field("name = \"m\"\ntype = \"money\"\nlabel = \"M\"\ncurrency = \"EUR\"");
    assert_eq!(normalize_value(&money, &json!(1990)).unwrap(), json!({"amount": 1990, "currency": "EUR"}));
    assert!(normalize_value(&money, &json!({"amount": 1, "currency": "USD"})).unwrap_err().contains("must be EUR"));
    assert!(normalize_value(&money, &json!({"amount": 1.5})).is_err());

    let date = field("name = \"d\"\ntype = \"date\"\nlabel = \"D\"");
    assert!(normalize_value(&date, &json!("2026-02-30")).is_err());
    assert_eq!(normalize_value(&date, &json!("2026-02-28")).unwrap(), json!("2026-02-28"));
    let datetime = field("name = \"d\"\ntype = \"datetime\"\nlabel = \"D\"");
    assert_eq!(normalize_value(&datetime, &json!("2026-11-21T14:30:00+01:00")).unwrap(), json!("2026-11-21T13:30:00.000Z"));

    let options =
        field("name = \"o\"\ntype = \"enum\"\nlabel = \"O\"\nmultiple = true\nvalues = [{ key = \"a\", label = \"A\" }, { key = \"b\", label = \"B\" }]");
    assert_eq!(normalize_value(&options, &json!(["a", "b", "a"])).unwrap(), json!(["a", "b"]));
    assert!(normalize_value(&options, &json!(["c"])).unwrap_err().contains("not one of: a, b"));
    assert!(normalize_value(&options, &json!("a")).is_err());

    let email = field("name = \"e\"\ntype = \"email\"\nlabel = \"E\"");
    assert_eq!(normalize_value(&email, &json!(" Marie@Exemple.FR ")).unwrap(), json!("marie@exemple.fr"));
    let phone = field("name = \"p\"\ntype = \"phone\"\nlabel = \"P\"");
    assert!(normalize_value(&phone, &json!("+33 (0)1 23")).is_err());
    assert_eq!(normalize_value(&phone, &json!("0033 1 23 45 67 89")).unwrap(), json!("+33123456789"));
    let reference = field("name = \"r\"\ntype = \"reference\"\nlabel = \"R\"\ncollection = \"site\"");
    assert!(normalize_value(&reference, &json!("nope")).is_err());
    let file = field("name = \"f\"\ntype = \"file\"\nlabel = \"F\"\naccept = [\"image/*\"]");
    let id = "0190a5c8-0000-7000-8000-000000000000";
    assert!(normalize_value(&file, &json!({"id": id, "content_type": "image/png", "size": 10})).is_ok());
    assert!(normalize_value(&file, &json!({"id": id, "content_type": "application/pdf", "size": 10})).is_err());
}

#[test]
fn defaults_must_fit_their_field() {
    let bad = TICKETS.replace("decimals = 0", "decimals = 0\ndefault = \"four hours\"");
    let err = SchemaFile::parse(&bad).unwrap_err();
    assert!(err.path.ends_with("fields[2].default"), "{err}");
}
