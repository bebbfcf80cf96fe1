//! Writing records from the portal: the new record's form and its creation (files included), a
//! field saved on its own with conflict detection, a file attached, a workflow transition fired,
//! a record deleted.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use socle_marketplace::schema::{CollectionDef, FieldDef, FieldType};
use uuid::Uuid;

use super::panel::{PanelOnly, new_panel, panel_data, render_panel};
use super::shared::{lang, people, push_url, reference_titles, when};
use crate::http::error::ApiError;
use crate::http::extract::parse_id;
use crate::http::state::AppState;
use crate::http::ui::fields::{self, Titles};
use crate::http::ui::form::{FormPairs, UiForm};
use crate::http::ui::shell::{UiUser, check_csrf, fragment, is_htmx, page, shell, trigger};
use crate::records::{RecordError, RecordRef};

/// A `return` parameter, `<collection>/<id>`: a collection name and a record id, nothing else.
fn parse_return(raw: &str) -> Option<(String, Uuid)> {
    let (collection, id) = raw.split_once('/')?;
    let name_ok =
        !collection.is_empty() && collection.len() <= 80 && collection.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    Some((collection.to_owned(), id.parse().ok()?)).filter(|_| name_ok)
}

/// The form of a new record; `?<field>=<value>` fills fields in (a reply created from its
/// ticket points at it already).
pub(super) async fn new_form(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let abilities = state.records.abilities(&caller, &collection).await?;
    if !abilities.create {
        return Err(ApiError::forbidden(format!("your roles do not let you create {}", def.label.get(lang(&auth)))));
    }
    let prefill = FormPairs::parse(raw.unwrap_or_default().as_bytes());
    let values: Map<String, Value> = def
        .fields
        .iter()
        .filter(|f| abilities.writable.contains(&f.name))
        .filter_map(|f| prefill.get(&f.name).filter(|v| !v.is_empty()).map(|v| (f.name.clone(), fields::from_form(f, &[v.to_owned()]))))
        .collect();
    let mut data = new_panel(&state, &auth, &def, &abilities, &values, Vec::new()).await;
    data.return_to = prefill.get("return").and_then(parse_return).map(|(collection, id)| format!("{collection}/{id}"));
    if is_htmx(&headers) {
        return Ok(state.templates.render("records/panel.html", fragment(&auth, PanelOnly { panel: data })));
    }
    let shell = shell(&state, &auth, &collection).await?;
    Ok(state.templates.render("records/new.html", page(&auth, shell, PanelOnly { panel: data })))
}

/// Human messages of a failed write, naming fields by their labels.
fn error_messages(def: &CollectionDef, err: &RecordError, lang: &str) -> Vec<String> {
    match err {
        RecordError::Invalid(errors) => errors
            .iter()
            .map(|e| {
                let label = def.fields.iter().find(|f| f.name == e.field).map_or(e.field.clone(), |f| f.label.get(lang).to_owned());
                // In French when the sentence is known (the engine speaks English to the API).
                let message = (lang == "fr").then(|| crate::http::api::admin_messages::french("", Some(&e.field), &e.message)).flatten();
                format!("{label} : {}", message.unwrap_or_else(|| e.message.clone()))
            })
            .collect(),
        other => vec![other.to_string()],
    }
}

/// A creation form as sent: its fields, and the files chosen in its file inputs.
struct SentForm {
    pairs: FormPairs,
    /// (field, file name, content type, bytes), non-empty files only.
    files: Vec<(String, String, String, Bytes)>,
}

/// Reads a form sent urlencoded or, when it carries files, as multipart.
async fn read_form(state: &AppState, headers: &HeaderMap, request: axum::extract::Request) -> Result<SentForm, ApiError> {
    use axum::extract::FromRequest as _;
    let multipart = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if !multipart {
        let body = Bytes::from_request(request, state).await.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
        return Ok(SentForm { pairs: FormPairs::parse(&body), files: Vec::new() });
    }
    let invalid = |e: axum::extract::multipart::MultipartError| ApiError::bad_request("invalid_upload", e.body_text());
    let mut form = Multipart::from_request(request, state).await.map_err(|e| ApiError::bad_request("invalid_upload", e.body_text()))?;
    let mut sent = SentForm { pairs: FormPairs(Vec::new()), files: Vec::new() };
    while let Some(part) = form.next_field().await.map_err(invalid)? {
        let Some(name) = part.name().map(str::to_owned) else { continue };
        match part.file_name().map(str::to_owned) {
            Some(file_name) => {
                let content_type = part.content_type().unwrap_or("application/octet-stream").to_owned();
                let bytes = part.bytes().await.map_err(invalid)?;
                // An empty file input still sends a part, with no name and no bytes.
                if !bytes.is_empty() {
                    sent.files.push((name, file_name, content_type, bytes));
                }
            }
            None if sent.pairs.0.len() < 5_000 => sent.pairs.0.push((name, part.text().await.map_err(invalid)?)),
            None => return Err(ApiError::bad_request("invalid_form", "the form has more than 5 000 fields")),
        }
    }
    Ok(sent)
}

pub(super) async fn create(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let SentForm { pairs: form, files } = read_form(&state, &headers, request).await?;
    check_csrf(&auth, &headers, form.get("_csrf"))?;
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let abilities = state.records.abilities(&caller, &collection).await?;
    let mut input = Map::new();
    for field in def.fields.iter().filter(|f| abilities.writable.contains(&f.name)) {
        if field.field_type == FieldType::File {
            // Stored now, attached by the write below (a refused write leaves them unattached,
            // readable only by this user).
            let mut stored = Vec::new();
            for (_, file_name, content_type, bytes) in files.iter().filter(|(name, ..)| name == &field.name) {
                let file = state.records.upload(&caller, file_name, content_type, bytes).await?;
                stored.push(file.field_value());
            }
            match (field.multiple, stored.len()) {
                (_, 0) => {}
                (true, _) => {
                    input.insert(field.name.clone(), Value::Array(stored));
                }
                (false, _) => {
                    input.insert(field.name.clone(), stored.swap_remove(0));
                }
            }
            continue;
        }
        let sent = form.all(&field.name);
        let value = fields::from_form(field, &sent);
        if !value.is_null() {
            input.insert(field.name.clone(), value);
        }
    }
    let return_to = form.get("_return").and_then(parse_return);
    match state.records.create(&caller, &collection, input.clone()).await {
        Ok(record) => {
            // Created from another record's related list: back to that record, which now lists
            // this one; otherwise the new record.
            let (shown_collection, shown_id) = match &return_to {
                Some((parent, id)) => (parent.as_str(), *id),
                None => (collection.as_str(), record.id),
            };
            let shown_url = auth.tenant.link(&format!("/c/{shown_collection}?open={shown_id}"));
            if !is_htmx(&headers) {
                return Ok(Redirect::to(&shown_url).into_response());
            }
            let response = match render_panel(&state, &auth, shown_collection, shown_id).await {
                Ok(response) => push_url(response, &shown_url),
                // The parent went away meanwhile (or is no longer readable): show the new record.
                Err(_) => {
                    push_url(render_panel(&state, &auth, &collection, record.id).await?, &auth.tenant.link(&format!("/c/{collection}?open={}", record.id)))
                }
            };
            // The address shows what the panel shows, so a reload keeps it open.
            Ok(trigger(response, "records-changed"))
        }
        Err(err @ (RecordError::Invalid(_) | RecordError::Vetoed { .. } | RecordError::Denied(_))) => {
            let errors = error_messages(&def, &err, lang(&auth));
            let mut data = new_panel(&state, &auth, &def, &abilities, &input, errors).await;
            data.return_to = return_to.map(|(parent, id)| format!("{parent}/{id}"));
            let mut response = if is_htmx(&headers) {
                state.templates.render("records/panel.html", fragment(&auth, PanelOnly { panel: data }))
            } else {
                let shell = shell(&state, &auth, &collection).await?;
                state.templates.render("records/new.html", page(&auth, shell, PanelOnly { panel: data }))
            };
            // htmx swaps 2xx only; a plain form shows the page with its errors either way.
            if !is_htmx(&headers) {
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// What a field save answers: out-of-band swaps of the record's version, the field's status line,
/// its error and its conflict box.
#[derive(Debug, Serialize)]
struct FieldSaved {
    record_id: String,
    field: String,
    version: i64,
    saved_at: Option<String>,
    /// The field's value as saved (the new "original" for the next conflict check).
    saved_value: String,
    /// The value as understood, as a person reads it (`14,90 €` for `14,90`), for types the
    /// platform normalises (numbers, money, dates, phones).
    understood: Option<String>,
    /// The computed fields the save changed, as now shown (their read-only text is replaced).
    computed: Vec<(String, String)>,
    error: Option<String>,
    conflict: Option<Conflict>,
}

#[derive(Debug, Serialize)]
struct Conflict {
    by: String,
    theirs: String,
    mine: String,
    mine_text: String,
    theirs_text: String,
    save_url: String,
    version: i64,
}

/// The collection (as the caller may see it) and the record `id` of it that a field change is
/// about.
async fn field_and_record(
    state: &AppState,
    caller: &crate::records::Caller,
    collection: &str,
    id: Uuid,
) -> Result<(CollectionDef, crate::records::Record), ApiError> {
    let def = state.records.collection(caller, collection).await?;
    let current = state.records.get_fields(caller, RecordRef::new(collection, id)).await?;
    Ok((def, current))
}

/// Saves one field. The form sends the value, the record's version and the field's value when
/// the page was drawn. If the record moved on but this field did not, the change is applied on
/// top (other people's changes to other fields are kept); if someone changed this very field,
/// nothing is written and the user sees both values and chooses.
pub(super) async fn save_field(
    State(state): State<AppState>,
    Path((collection, id, field_name)): Path<(String, String, String)>,
    UiForm { auth, form, headers: _ }: UiForm,
) -> Result<Response, ApiError> {
    let lang = lang(&auth);
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    let (def, current) = field_and_record(&state, &caller, &collection, id).await?;
    let field = def.field(&field_name).ok_or_else(|| ApiError::not_found("unknown_field", format!("{collection} has no field `{field_name}`")))?;
    let original = form.get("original").unwrap_or("");
    let sent: Vec<String> = form.all("value");
    let value = fields::from_form(field, &sent);
    let theirs_text = fields::form_text(field, current.data.get(&field.name));
    let mut saved = FieldSaved {
        record_id: id.to_string(),
        field: field_name.clone(),
        version: current.version,
        saved_at: None,
        saved_value: String::new(),
        understood: None,
        computed: Vec::new(),
        error: None,
        conflict: None,
    };
    // Someone else changed this very field since it was drawn (its value is no longer the one
    // the user started from) to something other than what the user typed: nothing is written
    // until the user chooses. Compared on the field's own value, not the record's version, so a
    // save of another field (which moves the version on) never turns the conflict into a silent
    // overwrite.
    if theirs_text != original && fields::form_text(field, Some(&value)) != theirs_text {
        let link = |p: &str| auth.tenant.link(p);
        let titles = reference_titles(&state, &caller, &def, std::iter::once(&current.data)).await;
        let last = state.records.history(&caller, id, None, 1).await?.into_iter().next();
        let names = people(&state, &auth, last.iter().map(|h| h.actor.clone()).collect()).await;
        let by = last.map(|h| names.get(&h.actor).cloned().unwrap_or(h.actor_label)).unwrap_or_default();
        saved.conflict = Some(Conflict {
            by,
            theirs: fields::display(field, current.data.get(&field.name), lang, &titles, &link).text,
            mine: fields::display(field, Some(&value), lang, &titles, &link).text,
            mine_text: sent.join(","),
            theirs_text,
            save_url: link(&format!("/c/{collection}/{id}/fields/{field_name}")),
            version: current.version,
        });
    } else {
        let mut patch = Map::new();
        patch.insert(field.name.clone(), value);
        match state.records.update(&caller, id, patch, Some(current.version)).await {
            Ok(record) => {
                let link = |p: &str| auth.tenant.link(p);
                let shown = |f: &FieldDef| fields::display(f, record.data.get(&f.name), lang, &Titles::new(), &link).text;
                saved.version = record.version;
                saved.saved_at = Some(when(record.updated_at, lang).text);
                saved.saved_value = fields::form_text(field, record.data.get(&field.name));
                if matches!(field.field_type, FieldType::Number | FieldType::Money | FieldType::Date | FieldType::Datetime | FieldType::Phone) {
                    saved.understood = Some(shown(field)).filter(|t| !t.is_empty());
                }
                saved.computed = def
                    .fields
                    .iter()
                    .filter(|f| f.compute.is_some() && record.data.get(&f.name) != current.data.get(&f.name))
                    .map(|f| (f.name.clone(), shown(f)))
                    .collect();
            }
            Err(err @ (RecordError::Invalid(_) | RecordError::Vetoed { .. } | RecordError::Denied(_) | RecordError::Conflict { .. })) => {
                saved.error = Some(error_messages(&def, &err, lang).join(" ; "));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let changed = saved.saved_at.is_some();
    let response = state.templates.render("records/field_saved.html", fragment(&auth, saved));
    Ok(if changed { trigger(response, "records-changed") } else { response })
}

/// Uploads a file into a file field (multipart, one file).
pub(super) async fn attach(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path((collection, id, field_name)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    check_csrf(&auth, &headers, None)?;
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    let (def, current) = field_and_record(&state, &caller, &collection, id).await?;
    let field = def
        .field(&field_name)
        .filter(|f| f.field_type == FieldType::File)
        .ok_or_else(|| ApiError::not_found("unknown_field", format!("{collection} has no file field `{field_name}`")))?;
    let sent = read_form(&state, &headers, request).await?;
    let (_, name, content_type, bytes) = sent
        .files
        .iter()
        .find(|(part, ..)| part == "file")
        .ok_or_else(|| ApiError::bad_request("invalid_upload", "send the file in a form field named `file`"))?;
    let value = state.records.upload(&caller, name, content_type, bytes).await?.field_value();
    // A field of several files (a ticket's attachments) gains this one; a single file replaces.
    let value = if field.multiple {
        let mut files = current.data.get(&field.name).and_then(Value::as_array).cloned().unwrap_or_default();
        files.push(value);
        Value::Array(files)
    } else {
        value
    };
    let mut patch = Map::new();
    patch.insert(field.name.clone(), value);
    state.records.update(&caller, id, patch, Some(current.version)).await?;
    let response = render_panel(&state, &auth, &collection, id).await?;
    Ok(trigger(response, "records-changed"))
}

pub(super) async fn fire(
    State(state): State<AppState>,
    Path((collection, id, name)): Path<(String, String, String)>,
    UiForm { auth, form, headers }: UiForm,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    let expected = form.get("version").and_then(|v| v.parse().ok());
    match state.records.transition(&caller, RecordRef::new(&collection, id), &name, expected).await {
        Ok(_) => {}
        Err(RecordError::Conflict { .. }) => {
            // The state the user saw is gone: show the record as it is now, with a notice.
            let def = state.records.collection(&caller, &collection).await?;
            let abilities = state.records.abilities(&caller, &collection).await?;
            let notice = crate::i18n::text(auth.locale(), "changed_meanwhile").to_owned();
            let data = panel_data(&state, &auth, &def, &abilities, id, vec![notice]).await?;
            return Ok(state.templates.render("records/panel.html", fragment(&auth, PanelOnly { panel: data })));
        }
        Err(other) => return Err(other.into()),
    }
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&auth.tenant.link(&format!("/c/{collection}?open={id}"))).into_response());
    }
    let response = render_panel(&state, &auth, &collection, id).await?;
    Ok(trigger(response, "records-changed"))
}

pub(super) async fn remove(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    UiForm { auth, form, headers }: UiForm,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    state.records.delete(&caller, RecordRef::new(&collection, id), form.get("version").and_then(|v| v.parse().ok())).await?;
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&auth.tenant.link(&format!("/c/{collection}"))).into_response());
    }
    Ok(trigger((StatusCode::OK, "").into_response(), "records-changed"))
}
