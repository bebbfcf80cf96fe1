#![allow(clippy::unwrap_used)]

//! Records through the whole write path (validation, authorization, history, audit, search
//! index, outbox) against a raw SQL insert of the same row; and an indexed query over 1 000 000
//! records of one tenant among 100 tenants against the raw SQL select of the same rows. Each on
//! SQLite, and on PostgreSQL when `SOCLE_BENCH_POSTGRES_URL` is set (a database it may recreate).
//!
//! `cargo bench -p socle-core --bench records`
//! (`SOCLE_BENCH_RECORDS=100000` for a quicker, smaller run.)

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use serde_json::json;
use socle_core::db::{Db, Scope, postgres::begin};
use socle_core::records::{Caller, Filter, Op, Query, Sort};
use socle_core::{App, BuildOptions, Settings};
use socle_tenants::{Actor, NewTenant, Slug, TenantId};
use sqlx::Connection as _;
use uuid::Uuid;

const TENANTS: usize = 100;

fn target_records() -> usize {
    std::env::var("SOCLE_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

async fn app(url: &str) -> Arc<App> {
    let mut settings = Settings::default();
    settings.database.url = SecretString::from(url.to_owned());
    settings.database.max_connections = 8;
    App::build(settings, BuildOptions::default()).await.unwrap()
}

/// Bulk-loads `count` catalogue items for `tenant` straight into the table (setup, not measured).
async fn load(app: &App, tenant: TenantId, count: usize) {
    const BATCH: usize = 2_000;
    for start in (0..count).step_by(BATCH) {
        let n = BATCH.min(count - start);
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let data: Vec<String> = (start..start + n)
            .map(|i| {
                let kind = ["forfait", "option", "materiel", "frais"][i % 4];
                json!({ "code": format!("C{i:07}"), "label": format!("Article {i}"), "kind": kind, "supplier": format!("S{}", i % 500), "active": true })
                    .to_string()
            })
            .collect();
        match &app.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await.unwrap();
                for (id, d) in ids.iter().zip(&data) {
                    sqlx::query("INSERT INTO records (id, tenant_id, collection, version, data, created_at, updated_at, created_by, updated_by) VALUES ($1, $2, 'catalogue_item', 1, $3, 0, 0, 'bench', 'bench')")
                        .bind(id.to_string()).bind(tenant.to_string()).bind(d).execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            Db::Postgres { app: pool, .. } => {
                let mut tx = begin(pool, Scope::Tenant(tenant)).await.unwrap();
                sqlx::query("INSERT INTO records (id, tenant_id, collection, version, data, created_at, updated_at, created_by, updated_by) SELECT id, $2, 'catalogue_item', 1, d::jsonb, 0, 0, 'bench', 'bench' FROM unnest($1::uuid[], $3::text[]) AS t(id, d)")
                    .bind(&ids).bind(tenant.as_uuid()).bind(&data).execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        }
    }
}

struct Setup {
    app: Arc<App>,
    tenant: TenantId,
    caller: Caller,
}

async fn setup(url: &str, records: usize) -> Setup {
    let app = app(url).await;
    let mut target = None;
    for t in 0..TENANTS {
        let tenant =
            app.tenants.create(NewTenant::new(Slug::parse(&format!("bench{t}")).unwrap(), format!("Bench {t}")), &Actor::system("bench")).await.unwrap();
        // The measured tenant holds `records`; the 99 others share as many again.
        let count = if t == 0 { records } else { records / (TENANTS - 1) };
        load(&app, tenant.id, count).await;
        if t == 0 {
            target = Some(tenant.id);
        }
    }
    let tenant = target.unwrap();
    let caller = Caller::system(tenant, "bench");
    // Builds the collection's indexes (as the first request of a tenant does).
    app.records.registry.for_tenant(tenant).await.unwrap();
    if let Db::Postgres { owner_url, .. } = &app.db {
        use secrecy::ExposeSecret as _;
        let mut conn = sqlx::PgConnection::connect(owner_url.expose_secret()).await.unwrap();
        sqlx::query("ANALYZE records").execute(&mut conn).await.unwrap();
    }
    Setup { app, tenant, caller }
}

async fn raw_insert(app: &App, tenant: TenantId, i: u64) {
    let data = json!({ "code": format!("R{i}"), "label": "Raw", "kind": "option", "active": true }).to_string();
    match &app.db {
        Db::Sqlite(pool) => {
            sqlx::query("INSERT INTO records (id, tenant_id, collection, version, data, created_at, updated_at, created_by, updated_by) VALUES ($1, $2, 'catalogue_item', 1, $3, 0, 0, 'bench', 'bench')")
                .bind(Uuid::now_v7().to_string()).bind(tenant.to_string()).bind(data).execute(pool).await.unwrap();
        }
        Db::Postgres { app: pool, .. } => {
            let mut tx = begin(pool, Scope::Tenant(tenant)).await.unwrap();
            sqlx::query("INSERT INTO records (id, tenant_id, collection, version, data, created_at, updated_at, created_by, updated_by) VALUES ($1, $2, 'catalogue_item', 1, $3::jsonb, 0, 0, 'bench', 'bench')")
                .bind(Uuid::now_v7()).bind(tenant.as_uuid()).bind(data).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
    }
}

async fn raw_select(app: &App, tenant: TenantId) -> usize {
    match &app.db {
        Db::Sqlite(pool) => sqlx::query(
            "SELECT * FROM records WHERE tenant_id = $1 AND collection = 'catalogue_item' AND json_extract(data, '$.supplier') = 'S42' ORDER BY json_extract(data, '$.supplier'), id LIMIT 50",
        )
        .bind(tenant.to_string())
        .fetch_all(pool)
        .await
        .unwrap()
        .len(),
        Db::Postgres { app: pool, .. } => {
            let mut tx = begin(pool, Scope::Tenant(tenant)).await.unwrap();
            // The same accessor as the index (see the field_accessors migration).
            let rows = sqlx::query("SELECT * FROM records WHERE tenant_id = $1 AND collection = 'catalogue_item' AND socle_text(data, 'supplier') = 'S42' ORDER BY socle_text(data, 'supplier'), id LIMIT 50")
                .bind(tenant.as_uuid())
                .fetch_all(&mut *tx)
                .await
                .unwrap()
                .len();
            tx.commit().await.unwrap();
            rows
        }
    }
}

fn bench_backend(c: &mut Criterion, backend: &str, url: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let records = target_records();
    let s = runtime.block_on(setup(url, records));
    let query = Query {
        filters: vec![Filter { field: "supplier".into(), op: Op::Eq, value: json!("S42") }],
        sort: Some(Sort { field: "supplier".into(), desc: false }),
        limit: Some(50),
        ..Query::default()
    };
    runtime.block_on(async {
        let page = s.app.records.query(&s.caller, "catalogue_item", &query).await.unwrap();
        assert_eq!(page.items.len(), raw_select(&s.app, s.tenant).await);
    });

    let mut group = c.benchmark_group(format!("records_{backend}"));
    group.sample_size(30);
    let counter = std::sync::atomic::AtomicU64::new(0);
    group.bench_function(BenchmarkId::new("write", "raw_sql_insert"), |b| {
        b.to_async(&runtime).iter(|| raw_insert(&s.app, s.tenant, counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    });
    group.bench_function(BenchmarkId::new("write", "write_path_create"), |b| {
        b.to_async(&runtime).iter(|| async {
            let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let data = json!({ "code": format!("W{i}"), "label": "Write path", "kind": "option" });
            s.app.records.create(&s.caller, "catalogue_item", data.as_object().unwrap().clone()).await.unwrap()
        });
    });
    let label = format!("{records}_records");
    group.bench_function(BenchmarkId::new("indexed_query", format!("raw_sql_select/{label}")), |b| {
        b.to_async(&runtime).iter(|| raw_select(&s.app, s.tenant));
    });
    group.bench_function(BenchmarkId::new("indexed_query", format!("engine_query/{label}")), |b| {
        b.to_async(&runtime).iter(|| s.app.records.query(&s.caller, "catalogue_item", &query));
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("socle-bench-records-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    bench_backend(c, "sqlite", &format!("sqlite://{}/socle.db", dir.display()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(admin) = std::env::var("SOCLE_BENCH_POSTGRES_URL") {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let url = runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::raw_sql("DROP DATABASE IF EXISTS socle_bench WITH (FORCE)").execute(&mut conn).await.unwrap();
            sqlx::raw_sql("CREATE DATABASE socle_bench").execute(&mut conn).await.unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path("socle_bench");
            url.to_string()
        });
        bench_backend(c, "postgres", &url);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
