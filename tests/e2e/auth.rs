//! Logging in and out through the real pages: sessions, lockout, CSRF, the second factor, and
//! password resets.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use socle_core::identity::totp;
use socle_tests::{Browser, PASSWORD, TestApp};

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn a_user_logs_in_gets_a_hardened_cookie_and_logs_out() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.browser();
    let response = browser.login("acme", "Claire@Acme.fr", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/t/acme/");
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("socle_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/t/acme"] {
        assert!(cookie.contains(attribute), "{attribute} missing in {cookie}");
    }
    let home = browser.get("/t/acme/").await.text().await.unwrap();
    assert!(home.contains("Bienvenue, claire"), "{home}");

    let logout = browser.submit("/t/acme/", "/t/acme/logout", &[]).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    let after = browser.get("/t/acme/").await;
    assert_eq!(location(&after), "/t/acme/login");
    let (status, _) = browser.api(Method::GET, "acme", "/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_answer() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    for (email, password) in [("claire@acme.fr", "wrong password!"), ("nobody@acme.fr", PASSWORD)] {
        let response = t.browser().login("acme", email, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = response.text().await.unwrap();
        assert!(body.contains("Adresse e-mail ou mot de passe incorrect."), "{body}");
    }
    let journal = t.app.audit.list(acme.id, &Default::default()).await.unwrap();
    assert_eq!(journal.iter().filter(|e| e.action == "login.failed").count(), 2);
}

#[tokio::test]
async fn repeated_failures_delay_then_lock_even_the_right_password() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.browser();
    for _ in 0..3 {
        assert_eq!(browser.login("acme", "claire@acme.fr", "not the password").await.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = browser.login("acme", "claire@acme.fr", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().get("retry-after").is_some());
    assert!(throttled.text().await.unwrap().contains("Trop de tentatives"));
    t.clock.advance(Duration::from_secs(2));
    assert_eq!(browser.login("acme", "claire@acme.fr", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn guesses_sent_all_at_once_are_counted_before_they_are_checked() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    let claire = t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    // 24 wrong passwords at once, each from its own session: at most 10 are ever checked.
    let browsers: Vec<Browser> = (0..24).map(|_| t.browser()).collect();
    let attempts = browsers.iter().map(|b| b.login("acme", "claire@acme.fr", "wrong password!"));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert!(checked <= 10, "{checked} of 24 concurrent guesses were checked: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let user = t.app.users.get(acme.id, claire).await.unwrap().unwrap();
    assert!(user.failed_logins <= 10, "{}", user.failed_logins);
}

#[tokio::test]
async fn throttling_answers_the_same_for_an_account_that_exists_and_one_that_does_not() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let mut answers = Vec::new();
    for email in ["claire@acme.fr", "nobody@acme.fr"] {
        let browser = t.browser();
        let mut seen = Vec::new();
        for _ in 0..12 {
            let response = browser.login("acme", email, "wrong password!").await;
            seen.push((response.status(), response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned())));
            // Wait out each growing delay, so the attempt count is what stops the guesses.
            t.clock.advance(Duration::from_secs(300));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1], "an existing account must not be told apart from a missing one");
    assert!(answers[0].iter().any(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS), "{:?}", answers[0]);
}

#[tokio::test]
async fn a_link_opened_before_logging_in_is_where_the_login_leads() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.browser();
    let asked = browser.get("/t/acme/c/customer_account?open=x").await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let login = asked.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(login, "/t/acme/login?next=%2Ft%2Facme%2Fc%2Fcustomer_account%3Fopen%3Dx");
    let page = browser.get(&login).await.text().await.unwrap();
    assert!(page.contains("name=\"next\" value=\"&#x2f;t&#x2f;acme&#x2f;c&#x2f;customer_account?open=x\"") || page.contains("name=\"next\""), "{page}");
    let page = "/t/acme/login";
    let done = browser.submit(page, page, &[("email", "claire@acme.fr"), ("password", PASSWORD), ("next", "/t/acme/c/customer_account?open=x")]).await;
    assert_eq!(done.headers()["location"], "/t/acme/c/customer_account?open=x");
    // Anywhere else is home: another host, another tenant's prefix, the login page itself.
    for next in ["//evil.example/x", "https://evil.example/", "/t/globex/c/customer_account", "/t/acme/login", "/ops"] {
        let other = t.browser();
        let done = other.submit(page, page, &[("email", "claire@acme.fr"), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!(done.headers()["location"], "/t/acme/", "{next}");
    }
}

#[tokio::test]
async fn forms_and_api_writes_need_their_csrf_token() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.browser();
    // A login post without the form's token.
    let forged = browser
        .client()
        .post(browser.url("/t/acme/login"))
        .form(&[("email", "claire@acme.fr"), ("password", PASSWORD), ("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let browser = t.logged_in("acme", "claire@acme.fr").await;
    // An API write without X-CSRF-Token.
    let response = browser.client().patch(browser.url("/t/acme/api/v1/admin/tenant")).json(&json!({ "name": "Forged" })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "csrf_failed");
    // A cross-site request is refused before any handler runs.
    let csrf = browser.csrf("acme").await;
    let cross_site = browser
        .client()
        .patch(browser.url("/t/acme/api/v1/admin/tenant"))
        .header("x-csrf-token", csrf)
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "name": "Forged" }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.app.tenants.get(acme.id).await.unwrap().unwrap().name, "Acme");
}

async fn enroll(t: &TestApp, browser: &Browser) -> String {
    let page = browser.get("/t/acme/account/mfa").await.text().await.unwrap();
    let start = page.find("id=\"totp-secret\">").unwrap() + "id=\"totp-secret\">".len();
    let secret = page[start..start + 32].to_owned();
    let code = totp::code_at_step(&secret, totp::step_at(t.app.now_ms())).unwrap();
    let response = browser.submit("/t/acme/account/mfa", "/t/acme/account/mfa", &[("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "enrollment failed");
    secret
}

#[tokio::test]
async fn the_second_factor_is_asked_after_the_password_and_codes_work_once() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    let user = t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.logged_in("acme", "claire@acme.fr").await;
    let secret = enroll(&t, &browser).await;
    assert!(t.app.users.get(acme.id, user).await.unwrap().unwrap().totp_enabled);

    t.clock.advance(Duration::from_secs(60));
    let browser = t.browser();
    let response = browser.login("acme", "claire@acme.fr", PASSWORD).await;
    assert_eq!(location(&response), "/t/acme/login/mfa");
    // Pending: neither the portal nor the API is open yet.
    assert_eq!(location(&browser.get("/t/acme/").await), "/t/acme/login/mfa");
    assert_eq!(browser.api(Method::GET, "acme", "/me", None).await.0, StatusCode::UNAUTHORIZED);
    let wrong = browser.submit("/t/acme/login/mfa", "/t/acme/login/mfa", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = totp::code_at_step(&secret, totp::step_at(t.app.now_ms())).unwrap();
    let right = browser.submit("/t/acme/login/mfa", "/t/acme/login/mfa", &[("code", &code)]).await;
    assert_eq!(location(&right), "/t/acme/");
    assert_eq!(browser.api(Method::GET, "acme", "/me", None).await.0, StatusCode::OK);

    // The same code cannot open a second session.
    let other = t.browser();
    other.login("acme", "claire@acme.fr", PASSWORD).await;
    let replay = other.submit("/t/acme/login/mfa", "/t/acme/login/mfa", &[("code", &code)]).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tenant_can_require_the_second_factor_for_its_administrators() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let (status, _) = admin.api(Method::PATCH, "acme", "/admin/tenant", Some(json!({ "require_mfa_for_admins": true }))).await;
    assert_eq!(status, StatusCode::OK);

    // Support N1 does not administer: no second factor required.
    let n1 = t.browser();
    assert_eq!(location(&n1.login("acme", "lucas@acme.fr", PASSWORD).await), "/t/acme/");
    // Direction administers: enrollment comes first, nothing else is reachable.
    let browser = t.browser();
    assert_eq!(location(&browser.login("acme", "claire@acme.fr", PASSWORD).await), "/t/acme/account/mfa");
    assert_eq!(browser.api(Method::GET, "acme", "/admin/users", None).await.0, StatusCode::UNAUTHORIZED);
    let page = browser.get("/t/acme/account/mfa").await.text().await.unwrap();
    assert!(page.contains("Votre rôle exige la vérification en deux étapes"));
    enroll(&t, &browser).await;
    assert_eq!(browser.api(Method::GET, "acme", "/admin/users", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn reset_links_set_a_new_password_once_and_expire() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let lucas = t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let lucas_session = t.logged_in("acme", "lucas@acme.fr").await;

    let (status, body) = admin.api(Method::POST, "acme", &format!("/admin/users/{lucas}/password-reset"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let link = body["reset_link"].as_str().unwrap();
    assert!(link.starts_with("http://acme.localhost:8080/reset-password?token="), "{link}");
    let token = link.split("token=").nth(1).unwrap();

    let browser = t.browser();
    let page = format!("/t/acme/reset-password?token={token}");
    let weak = browser.submit(&page, "/t/acme/reset-password", &[("token", token), ("password", "short")]).await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = browser.submit(&page, "/t/acme/reset-password", &[("token", token), ("password", "a brand new passphrase")]).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Mot de passe modifié"));
    assert_eq!(t.browser().login("acme", "lucas@acme.fr", "a brand new passphrase").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.browser().login("acme", "lucas@acme.fr", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    // Existing sessions ended with the change.
    assert_eq!(lucas_session.api(Method::GET, "acme", "/me", None).await.0, StatusCode::UNAUTHORIZED);
    // The link works once.
    let again = browser.submit(&page, "/t/acme/reset-password", &[("token", token), ("password", "yet another passphrase")]).await;
    assert!(again.text().await.unwrap().contains("invalide, expiré ou déjà utilisé"));

    // A link older than an hour is refused.
    let (_, body) = admin.api(Method::POST, "acme", &format!("/admin/users/{lucas}/password-reset"), None).await;
    let token = body["reset_link"].as_str().unwrap().split("token=").nth(1).unwrap().to_owned();
    t.clock.advance(Duration::from_secs(3601));
    let page = format!("/t/acme/reset-password?token={token}");
    let late = browser.submit(&page, "/t/acme/reset-password", &[("token", &token), ("password", "too late passphrase")]).await;
    assert!(late.text().await.unwrap().contains("invalide, expiré ou déjà utilisé"));
}

#[tokio::test]
async fn disabled_users_cannot_log_in() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let lucas = t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let lucas_browser = t.logged_in("acme", "lucas@acme.fr").await;
    let (status, body) = admin.api(Method::PATCH, "acme", &format!("/admin/users/{lucas}"), Some(json!({ "status": "disabled" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(lucas_browser.api(Method::GET, "acme", "/me", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(t.browser().login("acme", "lucas@acme.fr", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_a_mailed_link() {
    let smtp = socle_tests::SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let acme = t.create_tenant("acme", "Acme Télécom").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.browser();
    for email in ["claire@acme.fr", "nobody@acme.fr"] {
        let response = browser.submit("/t/acme/forgot-password", "/t/acme/forgot-password", &[("email", email)]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("Si un compte existe pour cette adresse"), "same answer for {email}");
    }
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "only the existing account gets a mail");
    assert_eq!(mails[0].to, ["claire@acme.fr"]);
    let text = mails[0].decoded();
    assert_eq!(mails[0].header("Subject").unwrap(), "Réinitialisation de votre mot de passe — Acme Télécom");
    assert_eq!(mails[0].header("From").unwrap(), "Acme Télécom <no-reply@socle.localhost>", "sent under the tenant's name");
    let start = text.find("http://acme.localhost:8080/reset-password?token=").expect("a reset link") + "http://acme.localhost:8080/reset-password?token=".len();
    let token: String = text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert_eq!(token.len(), 43);
    let page = format!("/t/acme/reset-password?token={token}");
    let done = browser.submit(&page, "/t/acme/reset-password", &[("token", &token), ("password", "my new mailed passphrase")]).await;
    assert!(done.text().await.unwrap().contains("Mot de passe modifié"));
    assert_eq!(t.browser().login("acme", "claire@acme.fr", "my new mailed passphrase").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_new_user_is_invited_by_mail_to_choose_a_password_and_signs_in() {
    let smtp = socle_tests::SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let acme = t.create_tenant("acme", "Acme Télécom").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let body = serde_json::json!({ "email": "lea@acme.fr", "display_name": "Léa Martin", "user_type": "interne", "roles": ["support_n1"] });
    let (status, created) = admin.api(reqwest::Method::POST, "acme", "/admin/users", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["invited"], true, "{created}");
    assert!(created.get("generated_password").is_none(), "no password travels back when the person chooses theirs: {created}");
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(1).await;
    assert_eq!((mails[0].to.clone(), mails[0].header("Subject").unwrap()), (vec!["lea@acme.fr".to_owned()], "Votre accès à Acme Télécom".to_owned()));
    let text = mails[0].decoded();
    assert!(text.contains("Bonjour Léa Martin") && text.contains("lea@acme.fr") && text.contains("valable 7 jours"), "{text}");
    let prefix = "http://acme.localhost:8080/reset-password?token=";
    let start = text.find(prefix).expect("a link to choose a password") + prefix.len();
    let token: String = text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    // Still valid six days later (a reset link lasts an hour).
    t.clock.advance(std::time::Duration::from_secs(6 * 24 * 3600));
    let browser = t.browser();
    let page = format!("/t/acme/reset-password?token={token}");
    let done = browser.submit(&page, "/t/acme/reset-password", &[("token", &token), ("password", "ma phrase de passe choisie")]).await;
    assert!(done.text().await.unwrap().contains("Mot de passe modifié"));
    assert_eq!(t.browser().login("acme", "lea@acme.fr", "ma phrase de passe choisie").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_second_factor_codes_are_limited_add_up_and_a_locked_account_is_not_let_in_by_a_right_code() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let secret = enroll(&t, &t.logged_in("acme", "claire@acme.fr").await).await;
    t.clock.advance(Duration::from_secs(60));
    let right = |t: &TestApp| totp::code_at_step(&secret, totp::step_at(t.app.now_ms())).unwrap();
    let wrong = |t: &TestApp| {
        let good = right(t);
        (0..1_000_000).map(|n| format!("{n:06}")).find(|c| *c != good).unwrap()
    };
    // A session waiting for its code, opened before anything goes wrong.
    let pending = t.browser();
    assert_eq!(location(&pending.login("acme", "claire@acme.fr", PASSWORD).await), "/t/acme/login/mfa");

    // An attacker who knows the password tries codes: each wrong one is a failed login, the
    // growing delay applies, and the fifth closes the step.
    let attacker = t.browser();
    attacker.login("acme", "claire@acme.fr", PASSWORD).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = attacker.submit("/t/acme/login/mfa", "/t/acme/login/mfa", &[("code", &wrong(&t))]).await;
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::UNAUTHORIZED {
            let html = response.text().await.unwrap();
            assert!(
                html.contains("Code incorrect")
                    && (html.contains("essais avant de devoir saisir à nouveau votre mot de passe") || html.contains("1 essai avant de devoir")),
                "{html}"
            );
        }
        t.clock.advance(Duration::from_secs(20));
    }
    assert_eq!(statuses, [401, 401, 401, 401, 303], "the fifth wrong code ends the step");
    assert_eq!(location(&attacker.get("/t/acme/login/mfa").await), "/t/acme/login", "back to the password");
    let page = attacker.get("/t/acme/login?mfa=expired").await.text().await.unwrap();
    assert!(page.contains("saisissez à nouveau votre mot de passe"), "{page}");
    // While the account is locked, an immediate try is refused without being checked.
    let again = t.browser();
    again.login("acme", "claire@acme.fr", PASSWORD).await;
    let refused = again.submit("/t/acme/login/mfa", "/t/acme/login/mfa", &[("code", &wrong(&t))]).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "first of the new step, after the delay");
    let locked = again.submit("/t/acme/login/mfa", "/t/acme/login/mfa", &[("code", &right(&t))]).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "a right code does not open a locked account");
    assert!(locked.headers().contains_key("retry-after"));
    assert!(locked.text().await.unwrap().contains("ce compte est bloqué"));
    // The password alone never cleared the failures: they kept adding up across steps.
    let user = t.app.users.get(acme.id, t.app.users.by_email(acme.id, "claire@acme.fr").await.unwrap().unwrap().0.id).await.unwrap().unwrap();
    assert!(user.locked_until.is_some_and(|u| u > t.app.now_ms()), "locked");

    // Once the delay is over, the owner's right code lets them in and clears the count.
    t.clock.advance(Duration::from_secs(120));
    let code = right(&t);
    let ok = pending.submit("/t/acme/login/mfa", "/t/acme/login/mfa", &[("code", &code)]).await;
    assert_eq!(location(&ok), "/t/acme/");
    let user = t.app.users.get(acme.id, user.id).await.unwrap().unwrap();
    assert_eq!(user.locked_until, None);
}

#[tokio::test]
async fn using_one_reset_link_closes_the_older_ones() {
    let smtp = socle_tests::SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let acme = t.create_tenant("acme", "Acme Télécom").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.browser();
    for _ in 0..2 {
        browser.submit("/t/acme/forgot-password", "/t/acme/forgot-password", &[("email", "claire@acme.fr")]).await;
    }
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(2).await;
    let prefix = "http://acme.localhost:8080/reset-password?token=";
    let tokens: Vec<String> = mails
        .iter()
        .map(|m| {
            let text = m.decoded();
            let start = text.find(prefix).unwrap() + prefix.len();
            text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
        })
        .collect();
    assert_ne!(tokens[0], tokens[1]);
    let reset = |token: &str, password: &str| {
        let (page, token, password) = (format!("/t/acme/reset-password?token={token}"), token.to_owned(), password.to_owned());
        let browser = t.browser();
        async move { browser.submit(&page, "/t/acme/reset-password", &[("token", &token), ("password", &password)]).await.text().await.unwrap() }
    };
    assert!(reset(&tokens[1], "la phrase de passe récente").await.contains("Mot de passe modifié"));
    let older = reset(&tokens[0], "une phrase de passe volée").await;
    assert!(older.contains("invalide, expiré ou déjà utilisé"), "{older}");
    assert_eq!(t.browser().login("acme", "claire@acme.fr", "une phrase de passe volée").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(t.browser().login("acme", "claire@acme.fr", "la phrase de passe récente").await.status(), StatusCode::SEE_OTHER);
}
