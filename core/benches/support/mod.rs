//! What several benches set up the same way: an app on SQLite in a directory, a tenant with a
//! logged-in direction user served over loopback HTTP. Each bench uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::SecretString;
use socle_core::identity::accounts::CreateUser;
use socle_core::{App, BuildOptions, Settings};
use socle_tenants::{Actor, NewTenant, Slug, Tenant};

pub const EMAIL: &str = "claire@acme.fr";
const PASSWORD: &str = "benchmark password";

/// An app on a SQLite file (and a component cache) in `dir`.
pub async fn app(dir: &std::path::Path) -> Arc<App> {
    let mut settings = Settings::default();
    settings.database.url = SecretString::from(format!("sqlite://{}/socle.db", dir.display()));
    settings.plugins.cache_dir = dir.join("cache").display().to_string();
    App::build(settings, BuildOptions::default()).await.unwrap()
}

/// Tenant `acme`.
pub async fn acme(app: &App) -> Tenant {
    app.tenants.create(NewTenant::new(Slug::parse("acme").unwrap(), "Acme"), &Actor::system("bench")).await.unwrap()
}

/// Tenant `acme` with a direction user, [`EMAIL`].
pub async fn acme_with_user(app: &App) -> Tenant {
    let tenant = acme(app).await;
    let request = CreateUser {
        email: EMAIL.into(),
        display_name: "Claire".into(),
        user_type: "interne".parse().unwrap(),
        roles: vec!["direction".into()],
        password: Some(PASSWORD.into()),
        locale: None,
    };
    app.accounts.create_user(tenant.id, request, &Actor::system("bench")).await.unwrap();
    tenant
}

/// Serves `app` on a free loopback port and logs [`EMAIL`] in to `acme`: the address and a
/// keep-alive client holding the session.
pub async fn serve_logged_in(app: Arc<App>) -> (SocketAddr, reqwest::Client) {
    let server = socle_core::http::Server::bind(app, SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run(std::future::pending()));

    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = client.get(format!("http://{addr}/t/acme/login")).send().await.unwrap().text().await.unwrap();
    let start = login.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = &login[start..start + 43];
    let response = client.post(format!("http://{addr}/t/acme/login")).form(&[("email", EMAIL), ("password", PASSWORD), ("_csrf", csrf)]).send().await.unwrap();
    assert_eq!(response.status(), 303);
    (addr, client)
}
