//! Server-rendered pages: minijinja templates embedded in the binary, rendered with the tenant's
//! brand (name, logo, favicon, theme stylesheet) and the request's language.

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use socle_tenants::Locale;

use crate::i18n;
use crate::tenancy::TenantContext;

/// Bumped with the stylesheet so browsers refetch it.
pub const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every template, by name (embedded: the binary needs no files at run time).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("mfa.html", include_str!("../../templates/mfa.html")),
    ("reset.html", include_str!("../../templates/reset.html")),
    ("forgot.html", include_str!("../../templates/forgot.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("account.html", include_str!("../../templates/account.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("ops/login.html", include_str!("../../templates/ops/login.html")),
    ("ops/tenants.html", include_str!("../../templates/ops/tenants.html")),
    ("ops/layout.html", include_str!("../../templates/ops/layout.html")),
    ("ops/reviews.html", include_str!("../../templates/ops/reviews.html")),
    ("ops/health.html", include_str!("../../templates/ops/health.html")),
    ("partners/layout.html", include_str!("../../templates/partners/layout.html")),
    ("partners/login.html", include_str!("../../templates/partners/login.html")),
    ("partners/overview.html", include_str!("../../templates/partners/overview.html")),
    ("partners/packages.html", include_str!("../../templates/partners/packages.html")),
    ("partners/analytics.html", include_str!("../../templates/partners/analytics.html")),
    ("partners/statements.html", include_str!("../../templates/partners/statements.html")),
    ("ops/rollouts.html", include_str!("../../templates/ops/rollouts.html")),
    ("portal/layout.html", include_str!("../../templates/portal/layout.html")),
    ("records/list.html", include_str!("../../templates/records/list.html")),
    ("records/value.html", include_str!("../../templates/records/value.html")),
    ("records/panel.html", include_str!("../../templates/records/panel.html")),
    ("records/panel_body.html", include_str!("../../templates/records/panel_body.html")),
    ("records/input.html", include_str!("../../templates/records/input.html")),
    ("records/new.html", include_str!("../../templates/records/new.html")),
    ("records/field_saved.html", include_str!("../../templates/records/field_saved.html")),
    ("records/mass_result.html", include_str!("../../templates/records/mass_result.html")),
    ("records/search_results.html", include_str!("../../templates/records/search_results.html")),
    ("records/search.html", include_str!("../../templates/records/search.html")),
    ("admin/layout.html", include_str!("../../templates/admin/layout.html")),
    ("admin/branding.html", include_str!("../../templates/admin/branding.html")),
    ("admin/users.html", include_str!("../../templates/admin/users.html")),
    ("admin/roles.html", include_str!("../../templates/admin/roles.html")),
    ("admin/catalogue.html", include_str!("../../templates/admin/catalogue.html")),
    ("admin/listing.html", include_str!("../../templates/admin/listing.html")),
    ("admin/plugins.html", include_str!("../../templates/admin/plugins.html")),
    ("admin/plugin.html", include_str!("../../templates/admin/plugin.html")),
    ("admin/approvals.html", include_str!("../../templates/admin/approvals.html")),
    ("admin/audit.html", include_str!("../../templates/admin/audit.html")),
    ("admin/notifications.html", include_str!("../../templates/admin/notifications.html")),
];

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles every template (a syntax error fails start-up, not a request).
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // A missing variable or string is a bug: fail loudly instead of rendering a blank.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("label", label_filter);
        env.add_filter("datetime", local_time);
        env.add_filter("count", count_filter);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    /// Renders `name` with `context`; a rendering failure is logged and becomes a 500.
    pub fn render(&self, name: &str, context: impl Serialize) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(minijinja::value::Serde(&context))) {
            Ok(html) => Html(html).into_response(),
            Err(err) => {
                tracing::error!(template = name, error = format!("{err:#}"), "failed to render a page");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}

/// `{{ value | label(lang) }}`: a schema label (plain text or `{ fr, en }`) in the page's language.
fn label_filter(value: minijinja::Value, lang: &str) -> String {
    if let Some(text) = value.as_str() {
        return text.to_owned();
    }
    let pick = |key: &str| value.get_attr(key).ok().filter(|v| !v.is_undefined() && !v.is_none()).map(|v| v.to_string());
    pick(lang).or_else(|| pick("fr")).unwrap_or_default()
}

/// `{{ n | count("installs", lang) }}`: a number with its noun agreeing ("1 installation",
/// "3 installations"), from the strings `<key>_one` and `<key>_other`; a missing key fails the
/// rendering like a missing string.
fn count_filter(n: i64, key: &str, lang: &str) -> Result<String, minijinja::Error> {
    let locale = if lang == "en" { Locale::En } else { Locale::Fr };
    i18n::count(locale, key, n).ok_or_else(|| minijinja::Error::new(minijinja::ErrorKind::UndefinedError, format!("no strings `{key}_one` and `{key}_other`")))
}

/// The `datetime` template filter (`{{ ms | datetime(lang) }}`): a moment as `<time data-local>` markup, its UTC text turned into
/// the reader's time zone by the browser (socle.js).
fn local_time(ms: i64, lang: &str) -> minijinja::Value {
    // Both parts are digits and separators we formatted ourselves: nothing to escape.
    minijinja::Value::from_safe_string(format!("<time datetime=\"{}\" data-local>{}</time>", iso_time(ms), format_time(ms, lang)))
}

/// A Unix time in milliseconds as RFC 3339 (UTC), empty if out of range.
pub fn iso_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A Unix time in milliseconds as the tenant's local time (Paris; see
/// [`crate::mail::local_time::TimeZone`]) in `lang`'s order: `21/11/2026 15:30`, or
/// `2026-11-21 15:30 (Paris time)` in English. The browser then shows it in the reader's own zone.
pub fn format_time(ms: i64, lang: &str) -> String {
    let zone = crate::mail::local_time::TimeZone::EuropeParis;
    let local = ms + zone.offset_minutes(ms) * 60_000;
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(local) * 1_000_000) else { return String::new() };
    if lang == "en" {
        format!("{:04}-{:02}-{:02} {:02}:{:02} (Paris time)", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute())
    } else {
        format!("{:02}/{:02}/{:04} {:02}:{:02}", at.day(), u8::from(at.month()), at.year(), at.hour(), at.minute())
    }
}

/// The brand a page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Brand {
    /// Display name.
    pub name: String,
    /// Link prefix (`/t/<slug>` or empty).
    pub base: String,
    /// Home link.
    pub home_url: String,
    /// Logo URL, if a logo was uploaded.
    pub logo_url: Option<String>,
    /// Favicon URL, if one was uploaded.
    pub favicon_url: Option<String>,
    /// Tenant stylesheet with the theme variables.
    pub theme_url: Option<String>,
}

impl Brand {
    /// The brand of a tenant.
    pub fn of(ctx: &TenantContext) -> Self {
        let t = &ctx.tenant;
        Self {
            name: t.name.clone(),
            base: ctx.base_path.clone(),
            home_url: ctx.link("/"),
            logo_url: t.logo_sha256.as_ref().map(|v| ctx.link(&format!("/branding/logo?v={}", &v[..12]))),
            favicon_url: t.favicon_sha256.as_ref().map(|v| ctx.link(&format!("/branding/favicon?v={}", &v[..12]))),
            theme_url: Some(ctx.link(&format!("/theme.css?v={}", t.updated_at))),
        }
    }

    /// The platform's own (unbranded) look, for the operator console.
    pub fn platform() -> Self {
        Self { name: "Socle".into(), base: String::new(), home_url: "/ops".into(), logo_url: None, favicon_url: None, theme_url: None }
    }
}

/// What every page receives.
#[derive(Debug, Serialize)]
pub struct Page<T: Serialize> {
    /// Language tag.
    pub lang: &'static str,
    /// Strings of that language.
    pub tr: &'static std::collections::BTreeMap<&'static str, &'static str>,
    /// Brand.
    pub brand: Brand,
    /// CSRF token for forms.
    pub csrf: String,
    /// Stylesheet version.
    pub asset_version: &'static str,
    /// Page-specific values.
    #[serde(flatten)]
    pub data: T,
}

impl<T: Serialize> Page<T> {
    /// A page in `locale` for `brand`.
    pub fn new(locale: Locale, brand: Brand, csrf: String, data: T) -> Self {
        Self { lang: locale.as_str(), tr: i18n::strings(locale), brand, csrf, asset_version: ASSET_VERSION, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_the_error_page_renders_in_both_languages() {
        let templates = Templates::new().unwrap();
        for locale in [Locale::Fr, Locale::En] {
            #[derive(Serialize)]
            struct Data {
                heading: &'static str,
                message: &'static str,
                user: Option<()>,
            }
            let page = Page::new(locale, Brand::platform(), "t".into(), Data { heading: "h", message: "m", user: None });
            let response = templates.render("error.html", page);
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
}
