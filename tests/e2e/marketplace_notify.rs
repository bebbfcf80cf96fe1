//! Notifications to tenant administrators, stored and mailed: an upgrade asking for a new
//! capability puts an "approval waiting" notice in the portal and in each administrator's
//! mailbox (a real SMTP server), and nowhere else.

use reqwest::{Method, StatusCode};
use serde_json::json;
use socle_tests::{SmtpSink, TestApp};

use super::marketplace::{PUBLISHER, Partner, package, tenant_with_admin, version};

#[tokio::test]
async fn an_approval_waiting_is_shown_in_the_portal_and_mailed_to_administrators_only() {
    let smtp = SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", |t| t)).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    t.create_user(&acme, "lea@acme.fr", "interne", &["commercial"]).await;
    let (_, intruder) = tenant_with_admin(&t, "globex").await;
    let (status, body) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.worker().run_until_idle().await.unwrap();
    assert!(smtp.received().is_empty(), "a plain install asks nothing");

    let with_contacts = |text: String| {
        version("1.1.0")(text)
            + "\n[[capabilities]]\ncapability = \"records_read\"\ncollections = [\"contact\"]\nreason = \"Saluer les contacts par leur nom\"\n"
    };
    partner.publish(&t, &package("good", with_contacts)).await;
    let (status, body) = admin.api(Method::POST, "acme", "/admin/marketplace/upgrade", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, list) = admin.api(Method::GET, "acme", "/admin/notifications", None).await;
    let notice = &list["notifications"][0];
    assert_eq!(
        (notice["kind"].as_str(), notice["plugin_id"].as_str(), notice["version"].as_str()),
        (Some("approval_waiting"), Some("good"), Some("1.1.0")),
        "{list}"
    );
    assert!(notice["message"].as_str().unwrap().contains("records_read:contact"), "{notice}");
    assert_eq!(list["unread"], 1);
    let (_, theirs) = intruder.api(Method::GET, "globex", "/admin/notifications", None).await;
    assert_eq!(theirs["notifications"], json!([]));

    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "only the administrator, not the sales user: {mails:?}");
    assert_eq!(mails[0].to, ["claire@acme.fr"]);
    assert_eq!(mails[0].header("Subject").unwrap(), "Autorisation en attente : good 1.1.0 — acme SAS");
    assert!(mails[0].decoded().contains("records_read:contact"), "{}", mails[0].decoded());
}
