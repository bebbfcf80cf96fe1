//! Tenant isolation: a user of one tenant can neither read nor change anything of another, on
//! every route so far, and on PostgreSQL a query that forgets its tenant filter still sees only
//! the current tenant's rows.

use reqwest::{Method, StatusCode};
use serde_json::json;
use socle_core::db::{Db, Scope, postgres::begin};
use socle_tests::TestApp;

#[tokio::test]
async fn an_admin_of_one_tenant_cannot_reach_another_tenants_users() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    let globex = t.create_tenant("globex", "Globex").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let hank = t.create_user(&globex, "hank@globex.fr", "interne", &["direction"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;

    let attempts = [
        (Method::GET, format!("/admin/users/{hank}"), None),
        (Method::PATCH, format!("/admin/users/{hank}"), Some(json!({ "display_name": "Pwned" }))),
        (Method::PUT, format!("/admin/users/{hank}/roles"), Some(json!({ "roles": ["client"] }))),
        (Method::POST, format!("/admin/users/{hank}/password-reset"), None),
        (Method::DELETE, format!("/admin/users/{hank}"), None),
    ];
    for (method, path, body) in attempts {
        let (status, response) = admin.api(method.clone(), "acme", &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {response}");
    }
    let listed = admin.api(Method::GET, "acme", "/admin/users", None).await.1;
    let emails: Vec<&str> = listed["users"].as_array().unwrap().iter().map(|u| u["user"]["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["claire@acme.fr"]);
    let journal = admin.api(Method::GET, "acme", "/admin/audit", None).await.1;
    assert!(journal["entries"].as_array().unwrap().iter().all(|e| e["tenant_id"] == json!(acme.id)));

    let untouched = t.app.users.get(globex.id, hank).await.unwrap().unwrap();
    assert_eq!(untouched.display_name, "hank");
    assert_eq!(t.app.authz.user_roles(globex.id, hank).await.unwrap(), ["direction"]);
}

#[tokio::test]
async fn a_session_of_one_tenant_opens_nothing_on_another() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    let globex = t.create_tenant("globex", "Globex").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    t.create_user(&globex, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.browser();
    let response = browser.login("acme", "claire@acme.fr", socle_tests::PASSWORD).await;
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();

    // The very same cookie, replayed on the other tenant by path and by host.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let by_path = client.get(browser.url("/t/globex/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(by_path.status(), StatusCode::UNAUTHORIZED);
    let by_host = browser.on_host(Method::GET, "globex.localhost", "/api/v1/me").header("cookie", &cookie).send().await.unwrap();
    assert_eq!(by_host.status(), StatusCode::UNAUTHORIZED);
    let own_host = browser.on_host(Method::GET, "acme.localhost", "/api/v1/me").header("cookie", &cookie).send().await.unwrap();
    assert_eq!(own_host.status(), StatusCode::OK);
    let page = client.get(browser.url("/t/globex/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "the other tenant's portal asks to log in");
}

#[tokio::test]
async fn a_tenants_own_address_never_serves_another_tenants_portal() {
    let t = TestApp::spawn().await;
    t.create_tenant("acme", "Acme").await;
    t.create_tenant("globex", "Globex").await;
    let browser = t.browser();
    let get = |host: &'static str, path: &'static str| browser.on_host(Method::GET, host, path).send();
    let other = get("acme.localhost", "/t/globex/login").await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND, "globex under acme's address");
    let html = get("acme.localhost", "/t/globex/login").await.unwrap().text().await.unwrap();
    assert!(!html.contains("Globex"), "{html}");
    // Its own prefix on its own host, its own host bare, and the platform's host still work.
    assert_eq!(get("acme.localhost", "/t/acme/login").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("acme.localhost", "/login").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("localhost", "/t/globex/login").await.unwrap().status(), StatusCode::OK);
}

// SQLite has no row-level security (the stores' tenant filters are its only wall): this runs in
// the PostgreSQL pass (`SOCLE_TEST_DATABASE=postgres cargo test … -- --include-ignored`) and is
// reported ignored elsewhere.
#[tokio::test]
#[ignore = "PostgreSQL only: row-level security"]
async fn row_level_security_hides_other_tenants_rows_from_unfiltered_queries() {
    let t = TestApp::spawn().await;
    let Db::Postgres { app: pool, .. } = &t.app.db else { panic!("row-level security is PostgreSQL's: run with SOCLE_TEST_DATABASE=postgres") };
    let acme = t.create_tenant("acme", "Acme").await;
    let globex = t.create_tenant("globex", "Globex").await;
    for i in 0..3 {
        t.create_user(&acme, &format!("a{i}@acme.fr"), "interne", &["support_n1"]).await;
    }
    t.create_user(&globex, "g@globex.fr", "interne", &["support_n1"]).await;

    // Forgetting `WHERE tenant_id = …` still returns only the current tenant's rows.
    let mut tx = begin(pool, Scope::Tenant(acme.id)).await.unwrap();
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *tx).await.unwrap();
    let rules: i64 = sqlx::query_scalar("SELECT count(*) FROM authz_rules WHERE ptype = 'g'").fetch_one(&mut *tx).await.unwrap();
    let foreign: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1").bind(globex.id.as_uuid()).fetch_one(&mut *tx).await.unwrap();
    assert_eq!((users, rules, foreign), (3, 3, 0));
    // Writing a row for another tenant is refused.
    let insert = sqlx::query("INSERT INTO roles (tenant_id, key, name_fr, name_en, user_types, created_at) VALUES ($1, 'x', 'x', 'x', '[]', 0)")
        .bind(globex.id.as_uuid())
        .execute(&mut *tx)
        .await;
    assert!(insert.unwrap_err().to_string().contains("row-level security"));
    drop(tx);

    // Without any scope, tenant tables look empty.
    let unscoped: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(pool).await.unwrap();
    assert_eq!(unscoped, 0);

    // The application role cannot bypass it.
    let bypass: bool = sqlx::query_scalar("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user").fetch_one(pool).await.unwrap();
    assert!(!bypass);

    // Every table with a tenant_id has row-level security enabled and forced.
    let unprotected: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE a.attname = 'tenant_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(unprotected.is_empty(), "tables without row-level security: {unprotected:?}");
}

#[tokio::test]
#[ignore = "PostgreSQL only: row-level security"]
async fn indexed_record_filters_stay_on_the_index_under_row_level_security() {
    use socle_core::records::query::PgDialect;
    use socle_core::records::query::{Dialect as _, ExprKind};
    let t = TestApp::spawn().await;
    let Db::Postgres { app: pool, .. } = &t.app.db else { panic!("row-level security is PostgreSQL's: run with SOCLE_TEST_DATABASE=postgres") };
    let acme = t.create_tenant("acme", "Acme").await;
    // Builds the collection's indexes, as a tenant's first request does.
    t.app.records.registry.for_tenant(acme.id).await.unwrap();

    // Row-level security lets only LEAKPROOF conditions drive an index scan; the engine's field
    // expressions must be such conditions, or a filter reads every row of the tenant.
    for (field, kind, value) in [("supplier", ExprKind::Text, "'S42'"), ("active", ExprKind::Bool, "true")] {
        let expr = PgDialect.field_expr(field, kind);
        let sql =
            format!("EXPLAIN SELECT id FROM records WHERE tenant_id = $1 AND collection = 'catalogue_item' AND {expr} = {value} ORDER BY {expr}, id LIMIT 50");
        let mut tx = begin(pool, Scope::Tenant(acme.id)).await.unwrap();
        sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.unwrap();
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(acme.id.as_uuid()).fetch_all(&mut *tx).await.unwrap();
        let plan = plan.join("\n");
        let condition = plan.lines().find(|l| l.contains("Index Cond")).unwrap_or_default();
        assert!(condition.contains(field), "the `{field}` filter is not an index condition:\n{plan}");
    }
}
