//! Global search across every collection the user may read: a results page, and the same results
//! as a fragment under the search box while typing.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::form::FormPairs;
use super::shell::{UiUser, fragment, is_htmx, page, shell};
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Hits shown.
const LIMIT: usize = 30;

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

#[derive(Debug, Serialize)]
struct Hit {
    href: String,
    title: String,
    collection: String,
    /// The snippet cut at the matches: `(text, is_match)` pieces, so the template marks matches
    /// without trusting any HTML.
    pieces: Vec<(String, bool)>,
}

#[derive(Debug, Serialize)]
struct SearchData {
    q: String,
    hits: Vec<Hit>,
    searched: bool,
}

/// Splits `a [match] b` into pieces.
fn pieces(snippet: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = snippet;
    while let Some(start) = rest.find('[') {
        let Some(len) = rest[start..].find(']') else { break };
        if start > 0 {
            out.push((rest[..start].to_owned(), false));
        }
        out.push((rest[start + 1..start + len].to_owned(), true));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push((rest.to_owned(), false));
    }
    out
}

async fn search(State(state): State<AppState>, UiUser(auth): UiUser, RawQuery(raw): RawQuery, headers: HeaderMap) -> Result<Response, ApiError> {
    let params = FormPairs::parse(raw.unwrap_or_default().as_bytes());
    let q: String = params.get("q").unwrap_or("").trim().chars().take(200).collect();
    let lang = auth.locale().as_str();
    let mut hits = Vec::new();
    if q.chars().count() >= 2 {
        let caller = auth.caller();
        let labels: std::collections::HashMap<String, String> = state
            .records
            .collections(&caller)
            .await?
            .into_iter()
            .map(|c| (c.name.clone(), c.label_one.as_ref().unwrap_or(&c.label).get(lang).to_owned()))
            .collect();
        for hit in state.records.search(&caller, &q, LIMIT).await? {
            hits.push(Hit {
                href: auth.tenant.link(&format!("/c/{}?open={}", hit.collection, hit.record_id)),
                collection: labels.get(&hit.collection).cloned().unwrap_or(hit.collection),
                title: hit.title,
                pieces: pieces(&hit.snippet),
            });
        }
    }
    let data = SearchData { searched: q.chars().count() >= 2, q, hits };
    if is_htmx(&headers) {
        return Ok(state.templates.render("records/search_results.html", fragment(&auth, data)));
    }
    let mut shell = shell(&state, &auth, "").await?;
    shell.search_text = data.q.clone();
    Ok(state.templates.render("records/search.html", page(&auth, shell, data)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn snippets_split_at_their_matches() {
        assert_eq!(
            super::pieces("la [fibre] de [Kerjean]."),
            vec![("la ".into(), false), ("fibre".into(), true), (" de ".into(), false), ("Kerjean".into(), true), (".".into(), false)]
        );
        assert_eq!(super::pieces("no match"), vec![("no match".into(), false)]);
    }
}
