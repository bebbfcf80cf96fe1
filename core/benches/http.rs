//! An authenticated `GET /api/v1/me` through the whole stack (tenant resolution, session, user,
//! roles and permissions, JSON) on SQLite, against a bare axum JSON handler served the same way,
//! measured in the same run over loopback HTTP with one keep-alive client.
//!
//! `cargo bench -p socle-core --bench http`

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use criterion::{Criterion, criterion_group, criterion_main};

mod support;

async fn socle_server(dir: &std::path::Path) -> (SocketAddr, reqwest::Client) {
    let app = support::app(dir).await;
    support::acme_with_user(&app).await;
    support::serve_logged_in(app).await
}

async fn bare_server() -> SocketAddr {
    let router = axum::Router::new()
        .route("/me", axum::routing::get(|| async { axum::Json(serde_json::json!({ "user": { "email": "claire@acme.fr" }, "roles": ["direction"] })) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn bench(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("socle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ((socle, client), bare) = runtime.block_on(async { (socle_server(&dir).await, bare_server().await) });
    let me = format!("http://{socle}/t/acme/api/v1/me");
    let bare_url = format!("http://{bare}/me");
    runtime.block_on(async {
        assert_eq!(client.get(&me).send().await.unwrap().status(), 200);
    });

    let mut group = c.benchmark_group("authenticated_get");
    group.bench_function("bare_axum_json", |b| {
        b.to_async(&runtime).iter(|| async { client.get(&bare_url).send().await.unwrap().bytes().await.unwrap() });
    });
    group.bench_function("socle_api_v1_me", |b| {
        b.to_async(&runtime).iter(|| async { client.get(&me).send().await.unwrap().bytes().await.unwrap() });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
