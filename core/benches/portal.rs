//! The portal's list screen: `GET /c/customer_account` rendering 50 rows (filters, sort links,
//! mass-action bar, side-panel links) through the whole stack on SQLite, against the JSON API
//! returning the same 50 records in the same run, over loopback HTTP with one keep-alive client.
//! Also prints the page weight: the JavaScript and CSS the list page loads.
//!
//! `cargo bench -p socle-core --bench portal`

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use criterion::{Criterion, criterion_group, criterion_main};
use socle_core::records::Caller;

mod support;

async fn server(dir: &std::path::Path) -> (SocketAddr, reqwest::Client) {
    let app = support::app(dir).await;
    let tenant = support::acme_with_user(&app).await;
    let caller = Caller::system(tenant.id, "bench");
    for n in 0..120 {
        let status = ["prospect", "actif", "suspendu"][n % 3];
        let data = serde_json::json!({
            "name": format!("Client {n:03} — Boulangerie de la gare"), "status": status,
            "sales_rep": support::EMAIL, "siret": format!("123456789{n:05}"), "email": format!("contact{n}@exemple.fr"), "phone": "02 98 12 34 56",
        });
        app.records.create(&caller, "customer_account", data.as_object().unwrap().clone()).await.unwrap();
    }
    support::serve_logged_in(app).await
}

/// The bytes of every script and stylesheet the page references.
async fn page_weight(client: &reqwest::Client, addr: SocketAddr, html: &str) -> usize {
    let mut total = 0;
    for marker in ["<script src=\"", "rel=\"stylesheet\" href=\""] {
        for part in html.split(marker).skip(1) {
            // Attribute values are HTML-escaped (`/` as `&#x2f;`).
            let url = part[..part.find('"').unwrap()].replace("&#x2f;", "/").replace("&amp;", "&");
            let bytes = client.get(format!("http://{addr}{url}")).send().await.unwrap().bytes().await.unwrap();
            println!("  {url}: {} bytes", bytes.len());
            total += bytes.len();
        }
    }
    total
}

fn bench(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (addr, client) = runtime.block_on(server(dir.path()));
    let page = format!("http://{addr}/t/acme/c/customer_account");
    let api = format!("http://{addr}/t/acme/api/v1/records/customer_account?limit=50");
    runtime.block_on(async {
        let html = client.get(&page).send().await.unwrap().text().await.unwrap();
        assert_eq!(html.matches("<tr data-id=").count(), 50, "the page shows 50 rows");
        println!("page weight (JS + CSS) of the list page:");
        let total = page_weight(&client, addr, &html).await;
        println!("  total: {total} bytes ({:.1} KiB); HTML of the page: {} bytes", total as f64 / 1024.0, html.len());
    });

    let mut group = c.benchmark_group("list_50_rows");
    group.bench_function("json_api", |b| b.to_async(&runtime).iter(|| async { client.get(&api).send().await.unwrap().bytes().await.unwrap() }));
    group.bench_function("portal_html", |b| b.to_async(&runtime).iter(|| async { client.get(&page).send().await.unwrap().bytes().await.unwrap() }));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
