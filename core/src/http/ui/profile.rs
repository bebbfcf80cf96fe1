//! The signed-in user's own preferences: the language of the portal (French by default, from the
//! tenant; each user may switch).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use socle_tenants::Locale;

use super::form::UiForm;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::identity::UserUpdate;

pub fn router() -> Router<AppState> {
    Router::new().route("/me/language", post(set_language))
}

/// Stores the user's language and goes back to the page they were on (same tenant only).
async fn set_language(State(state): State<AppState>, UiForm { auth, form, headers }: UiForm) -> Result<Response, ApiError> {
    let wanted = form.get("lang").unwrap_or("");
    let locale: Locale =
        wanted.parse().map_err(|_| socle_tenants::ValidationError::new("lang", format!("`{wanted}` is not a language of the portal: choose fr or en")))?;
    let user = &auth.user;
    let update = UserUpdate {
        display_name: user.display_name.clone(),
        user_type: user.user_type,
        locale: Some(locale),
        status: user.status,
        account_id: user.account_id,
    };
    state.users.update(auth.tenant.tenant.id, user.id, &update, &auth.actor()).await?;
    // Back where the user was, if that is a page of this tenant's portal; home otherwise.
    let home = auth.tenant.link("/");
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .map(|url| match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
        .filter(|path| path.starts_with(&home) && !path.starts_with("//"))
        .unwrap_or(home);
    Ok(Redirect::to(&back).into_response())
}
