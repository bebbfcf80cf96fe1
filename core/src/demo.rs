//! `socle demo`: creates (or refreshes) the demo tenants of `tenants/demo/` with their branding and
//! users, and an operator. Idempotent: running it again brings the demo back to its files.

use std::fmt::Write as _;

use socle_tenants::{Actor, AssetKind, DemoUsers, NewTenant, TenantFile, TenantPatch};

use crate::app::App;
use crate::identity::accounts::{self, CreateUser};
use crate::identity::secrets;
use crate::tenancy::branding::validate_image;

/// Every demo account's password (demo data only).
pub const DEMO_PASSWORD: &str = "socle-demo-2026";
/// The demo operator.
pub const DEMO_OPERATOR: &str = "ops@socle.demo";

struct DemoTenant {
    tenant_toml: &'static str,
    users_toml: &'static str,
    logo: &'static [u8],
}

const DEMO_TENANTS: &[DemoTenant] = &[
    DemoTenant {
        tenant_toml: include_str!("../../tenants/demo/connextoo/tenant.toml"),
        users_toml: include_str!("../../tenants/demo/connextoo/users.toml"),
        logo: include_bytes!("../../tenants/demo/connextoo/logo.svg"),
    },
    DemoTenant {
        tenant_toml: include_str!("../../tenants/demo/atelier-pixel/tenant.toml"),
        users_toml: include_str!("../../tenants/demo/atelier-pixel/users.toml"),
        logo: include_bytes!("../../tenants/demo/atelier-pixel/logo.svg"),
    },
];

/// Seeds the demo and returns what to print (URLs and accounts).
pub async fn seed(app: &App) -> anyhow::Result<String> {
    let actor = Actor::system("socle demo");
    let mut report = String::from("Demo ready. Every demo account's password is: ");
    report.push_str(DEMO_PASSWORD);
    report.push_str("\n\n");
    for demo in DEMO_TENANTS {
        let file = TenantFile::parse(demo.tenant_toml)?;
        let users = DemoUsers::parse(demo.users_toml)?;
        let section = &file.tenant;
        let tenant = match app.tenants.by_slug(&section.slug).await? {
            Some(existing) => {
                let patch = TenantPatch {
                    name: Some(section.name.clone()),
                    plan: Some(section.plan),
                    locale: Some(section.locale),
                    theme: Some(section.theme.clone()),
                    require_mfa_for_admins: Some(section.require_mfa_for_admins),
                };
                app.tenants.update(existing.id, &patch, &actor).await?
            }
            None => {
                let mut new = NewTenant::new(section.slug.clone(), section.name.clone());
                new.plan = section.plan;
                new.locale = section.locale;
                new.theme = section.theme.clone();
                app.tenants.create(new, &actor).await?
            }
        };
        let content_type = validate_image(AssetKind::Logo, demo.logo)?;
        app.tenants.put_asset(tenant.id, AssetKind::Logo, content_type, demo.logo, &actor).await?;
        app.resolver.changed(tenant.id, app.bus.as_ref()).await;

        let url = app.settings.tenant_url(tenant.slug.as_str());
        let _ = writeln!(report, "{} — {url}/  (or http://localhost:{}/t/{}/)", tenant.name, port(app), tenant.slug);
        for user in &users.users {
            match app.users.by_email(tenant.id, &user.email).await? {
                Some((existing, _)) => {
                    accounts::set_user_roles(app, tenant.id, &existing, &user.roles, &actor).await?;
                    let hash = secrets::hash_password(DEMO_PASSWORD).await?;
                    app.users.set_password(tenant.id, existing.id, &hash, &actor).await?;
                }
                None => {
                    let request = CreateUser {
                        email: user.email.clone(),
                        display_name: user.name.clone(),
                        user_type: user.user_type,
                        roles: user.roles.clone(),
                        password: Some(DEMO_PASSWORD.into()),
                        locale: None,
                    };
                    accounts::create_user(app, tenant.id, request, &actor).await?;
                }
            }
            let _ = writeln!(report, "  {:<40} {}", user.email, user.roles.join(", "));
        }
        report.push('\n');
    }
    if app.operators.by_email(DEMO_OPERATOR).await?.is_none() {
        let hash = secrets::hash_password(DEMO_PASSWORD).await?;
        app.operators.create(DEMO_OPERATOR, "Opérateur démo", &hash, &actor).await?;
    }
    let _ = writeln!(report, "Operator console — http://localhost:{}/ops  ({DEMO_OPERATOR})", port(app));
    Ok(report)
}

fn port(app: &App) -> u16 {
    url::Url::parse(&app.settings.server.public_url).ok().and_then(|u| u.port_or_known_default()).unwrap_or(8080)
}
