//! Authorization through the API: roles grant permissions, changes apply at once (on every node),
//! and the role model's constraints hold.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use socle_tests::TestApp;

#[tokio::test]
async fn support_n1_cannot_do_what_needs_administrer() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    let claire = t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    let attempts = [
        (Method::GET, "/admin/users".to_owned(), None),
        (Method::POST, "/admin/users".to_owned(), Some(json!({"email": "x@acme.fr", "display_name": "X", "user_type": "interne", "roles": ["direction"]}))),
        (Method::PUT, format!("/admin/users/{claire}/roles"), Some(json!({"roles": ["support_n1"]}))),
        (Method::POST, format!("/admin/users/{claire}/password-reset"), None),
        (Method::GET, "/admin/roles".to_owned(), None),
        (Method::PUT, "/admin/roles/support_n1/permissions".to_owned(), Some(json!({"permissions": ["administrer"]}))),
        (Method::GET, "/admin/tenant".to_owned(), None),
        (Method::PATCH, "/admin/tenant".to_owned(), Some(json!({"name": "Hacked"}))),
        (Method::GET, "/admin/audit".to_owned(), None),
    ];
    for (method, path, body) in attempts {
        let (status, response) = n1.api(method.clone(), "acme", &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {response}");
        assert_eq!(response["errors"][0]["code"], "forbidden");
        assert!(response["errors"][0]["detail"].as_str().unwrap().contains("administrer"));
    }
    let me = n1.api(Method::GET, "acme", "/me", None).await.1;
    assert_eq!(me["permissions"], json!([]));
    assert_eq!(t.app.tenants.get(acme.id).await.unwrap().unwrap().name, "Acme");
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    assert_eq!(admin.api(Method::GET, "acme", "/admin/users", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_policy_change_takes_effect_at_once() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    assert_eq!(n1.api(Method::GET, "acme", "/admin/users", None).await.0, StatusCode::FORBIDDEN);

    let grant = json!({ "permissions": ["administrer", "exporter"] });
    let (status, body) = admin.api(Method::PUT, "acme", "/admin/roles/support_n1/permissions", Some(grant)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(n1.api(Method::GET, "acme", "/admin/users", None).await.0, StatusCode::OK);

    let revoke = json!({ "permissions": [] });
    admin.api(Method::PUT, "acme", "/admin/roles/support_n1/permissions", Some(revoke)).await;
    assert_eq!(n1.api(Method::GET, "acme", "/admin/users", None).await.0, StatusCode::FORBIDDEN);

    let journal = admin.api(Method::GET, "acme", "/admin/audit?action=policy.", None).await.1;
    let actions: Vec<&str> = journal["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["policy.revoked", "policy.granted"]);
    assert_eq!(journal["entries"][0]["actor_label"], "claire@acme.fr");
}

#[tokio::test]
async fn a_policy_change_on_one_node_applies_on_the_others() {
    // Two nodes on one database: their bus is Redis on PostgreSQL, the database on SQLite (two
    // `socle serve` on one machine).
    let t = TestApp::spawn().await;
    let node2 = t.second_node().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let lucas = t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    // Node 2 caches its decision.
    assert!(!node2.app.authz.has_permission(acme.id, lucas, "administrer").await.unwrap());
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let grant = json!({ "permissions": ["administrer"] });
    assert_eq!(admin.api(Method::PUT, "acme", "/admin/roles/support_n1/permissions", Some(grant)).await.0, StatusCode::OK);
    let mut allowed = false;
    for _ in 0..50 {
        if node2.app.authz.has_permission(acme.id, lucas, "administrer").await.unwrap() {
            allowed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(allowed, "node 2 never saw the change");
    let n1_on_node2 = node2.logged_in("acme", "lucas@acme.fr").await;
    assert_eq!(n1_on_node2.api(Method::GET, "acme", "/admin/users", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn roles_must_fit_the_user_type() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let body = json!({ "email": "client@boulangerie.fr", "display_name": "Boulangerie", "user_type": "client", "roles": ["direction"] });
    let (status, response) = admin.api(Method::POST, "acme", "/admin/users", Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{response}");
    assert_eq!(response["errors"][0]["field"], "roles");
    assert!(response["errors"][0]["detail"].as_str().unwrap().contains("cannot be given to a `client` user"));
    // A client belongs to a customer account of the tenant, named at creation.
    let body = json!({ "email": "client@boulangerie.fr", "display_name": "Boulangerie", "user_type": "client", "roles": ["client"] });
    let (status, response) = admin.api(Method::POST, "acme", "/admin/users", Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{response}");
    assert_eq!(response["errors"][0]["field"], "account", "{response}");
    let (_, account) = admin.api(Method::POST, "acme", "/records/customer_account", Some(json!({ "name": "Boulangerie Kerjean" }))).await;
    let body = json!({ "email": "client@boulangerie.fr", "display_name": "Boulangerie", "user_type": "client", "roles": ["client"], "account": account["id"], "invite": false });
    let (status, response) = admin.api(Method::POST, "acme", "/admin/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{response}");
    assert!(response["generated_password"].as_str().unwrap().len() >= 16);
    assert_eq!((response["invited"].as_bool(), response["user"]["account_id"].clone()), (Some(false), account["id"].clone()), "{response}");
    let unknown = json!({ "email": "x@acme.fr", "display_name": "X", "user_type": "interne", "roles": ["pdg"] });
    let (status, response) = admin.api(Method::POST, "acme", "/admin/users", Some(unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response["errors"][0]["detail"].as_str().unwrap().contains("unknown role `pdg`"));
}

#[tokio::test]
async fn admins_add_roles_and_cannot_lock_themselves_out() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let tech = t.create_user(&acme, "tech@acme.fr", "technicien", &[]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let role = json!({ "key": "technicien_terrain", "name_fr": "Technicien terrain", "user_types": ["technicien"], "permissions": ["exporter"] });
    let (status, body) = admin.api(Method::POST, "acme", "/admin/roles", Some(role)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = admin.api(Method::PUT, "acme", &format!("/admin/users/{tech}/roles"), Some(json!({ "roles": ["technicien_terrain"] }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tech_browser = t.logged_in("acme", "tech@acme.fr").await;
    assert_eq!(tech_browser.api(Method::GET, "acme", "/me", None).await.1["permissions"], json!(["exporter"]));

    let bad = json!({ "permissions": ["voir_tout"] });
    let (status, body) = admin.api(Method::PUT, "acme", "/admin/roles/direction/permissions", Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let lockout = json!({ "permissions": ["voir_marge"] });
    let (status, body) = admin.api(Method::PUT, "acme", "/admin/roles/direction/permissions", Some(lockout)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["errors"][0]["code"], "would_lock_out");
    assert_eq!(admin.api(Method::DELETE, "acme", "/admin/roles/direction", None).await.0, StatusCode::CONFLICT);
    assert_eq!(admin.api(Method::DELETE, "acme", "/admin/roles/technicien_terrain", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(tech_browser.api(Method::GET, "acme", "/me", None).await.1["permissions"], json!([]));
}
