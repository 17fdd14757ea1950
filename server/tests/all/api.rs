//! HTTP-level tests: every server function for every role, login rules, origin checks, no-JS forms.

use crate::common;

use common::{spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;
use sqlx::PgPool;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Owner,
    Admin,
    Member,
    OtherOrg,
    Support,
    Superadmin,
    Anonymous,
}

const EVERYONE: [Who; 7] = [
    Who::Owner,
    Who::Admin,
    Who::Member,
    Who::OtherOrg,
    Who::Support,
    Who::Superadmin,
    Who::Anonymous,
];

impl Who {
    fn email(self) -> Option<&'static str> {
        Some(match self {
            Who::Owner => "admin@acme.test",
            Who::Admin => "second@acme.test",
            Who::Member => "user@acme.test",
            Who::OtherOrg => "admin@globex.test",
            Who::Support => "support@phonehub.test",
            Who::Superadmin => "root@phonehub.test",
            Who::Anonymous => return None,
        })
    }
    fn tag(self) -> String {
        format!("{self:?}").to_lowercase()
    }
}

async fn client_for(app: &TestApp, who: Who) -> reqwest::Client {
    match who.email() {
        Some(e) => app.login_as(e).await,
        None => app.client(),
    }
}

/// (server function, form, expected status)
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);

/// Expected status for reading Acme, acting as a member of Acme, managing Acme, and staff pages.
fn expect_read(who: Who) -> u16 {
    match who {
        Who::OtherOrg => 404,
        Who::Anonymous => 401,
        _ => 200,
    }
}
fn expect_manage(who: Who) -> u16 {
    match who {
        Who::Owner | Who::Admin | Who::Superadmin => 200,
        Who::Member | Who::Support => 403,
        Who::OtherOrg => 404,
        Who::Anonymous => 401,
    }
}
fn expect_staff(who: Who) -> u16 {
    match who {
        Who::Superadmin => 200,
        Who::Anonymous => 401,
        _ => 404,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_server_function_answers_each_role_as_specified(pool: PgPool) {
    let app = spawn_app(pool).await;
    let acme_member = app.user_id("user@acme.test").await.to_string();
    for who in EVERYONE {
        let c = client_for(&app, who).await;
        let tag = who.tag();
        // A member per role to try to remove.
        let victim_email = format!("victim-{tag}@acme.test");
        let r = app
            .call(
                &app.login_as("admin@acme.test").await,
                "add_member",
                &[
                    ("org", "acme"),
                    ("email", &victim_email),
                    ("role", "member"),
                    ("password", "victim password 1"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200, "setup: add {victim_email}");
        common::accept_invitation_of(&app, "acme", &victim_email).await;
        let victim = app.user_id(&victim_email).await.to_string();
        let before = app.count("SELECT count(*) FROM memberships").await;
        let audit_before = app
            .count("SELECT count(*) FROM audit_log WHERE action NOT IN ('login', 'staff.viewed', 'account.password_wrong')")
            .await;

        let new_email = format!("new-{tag}@acme.test");
        let new_user = format!("user-{tag}@example.test");
        let slug = format!("org-{tag}");
        let cases: Vec<Case> = vec![
            ("org_dashboard", vec![("org", "acme")], expect_read(who)),
            ("list_members", vec![("org", "acme")], expect_read(who)),
            (
                "add_member",
                vec![
                    ("org", "acme"),
                    ("email", &new_email),
                    ("role", "member"),
                    ("password", "a fine password"),
                ],
                expect_manage(who),
            ),
            (
                "change_role",
                vec![
                    ("org", "acme"),
                    ("user_id", &acme_member),
                    ("role", "member"),
                ],
                expect_manage(who),
            ),
            (
                "remove_member",
                vec![("org", "acme"), ("user_id", &victim)],
                expect_manage(who),
            ),
            ("admin_orgs", vec![], expect_staff(who)),
            ("admin_users", vec![], expect_staff(who)),
            (
                "admin_create_org",
                vec![
                    ("name", "New Org"),
                    ("slug", &slug),
                    ("owner_email", "admin@acme.test"),
                ],
                expect_staff(who),
            ),
            (
                "admin_create_user",
                vec![("email", &new_user), ("password", "a fine password")],
                expect_staff(who),
            ),
            (
                "admin_set_flags",
                vec![("user_id", &acme_member)],
                expect_staff(who),
            ),
            ("me", vec![], 200),
            (
                "change_password",
                vec![
                    ("current", "not it"),
                    ("new_password", "a fine password"),
                    ("confirm", "a fine password"),
                ],
                if who == Who::Anonymous { 401 } else { 422 },
            ),
            ("logout", vec![], 200),
        ];
        for (endpoint, form, expected) in cases {
            let r = app.call(&c, endpoint, &form).await;
            assert_eq!(r.status().as_u16(), expected, "{who:?} calling {endpoint}");
        }
        let after = app.count("SELECT count(*) FROM memberships").await;
        let audit_after = app
            .count("SELECT count(*) FROM audit_log WHERE action NOT IN ('login', 'staff.viewed', 'account.password_wrong')")
            .await;
        if expect_manage(who) != 200 {
            assert_eq!(
                before, after,
                "{who:?}: a refused write changed memberships"
            );
            assert_eq!(
                app.count(&format!(
                    "SELECT count(*) FROM users WHERE email = '{new_email}'"
                ))
                .await,
                0,
                "{who:?}: a refused add_member created a user"
            );
        }
        if expect_staff(who) != 200 {
            assert_eq!(
                app.count(&format!("SELECT count(*) FROM orgs WHERE slug = '{slug}'"))
                    .await,
                0
            );
            assert_eq!(
                app.count(
                    "SELECT count(*) FROM users WHERE is_support AND email = 'user@acme.test'"
                )
                .await,
                0
            );
        }
        if expect_manage(who) != 200 && expect_staff(who) != 200 {
            assert_eq!(
                audit_before, audit_after,
                "{who:?}: refused writes were audited as changes"
            );
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn support_staff_can_read_any_org_but_every_write_is_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.login_as("support@phonehub.test").await;
    let page = app.get(&c, "/o/globex/members").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("admin@globex.test"));
    assert!(html.contains("read-only"));
    assert!(
        !html.contains("Add a member"),
        "support must not see write forms"
    );
    let owner = app.user_id("admin@globex.test").await.to_string();
    let r = app
        .call(
            &c,
            "change_role",
            &[("org", "globex"), ("user_id", &owner), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.count("SELECT count(*) FROM memberships WHERE role = 'owner'")
            .await,
        2,
        "nothing changed"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_user_of_one_org_gets_404_for_another_orgs_pages(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.login_as("admin@globex.test").await;
    for path in ["/o/acme", "/o/acme/members", "/o/no-such-org"] {
        let r = app.get(&c, path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("Acme Corp"), "{path} leaks the org's name");
    }
    assert_eq!(app.get(&c, "/admin/orgs").await.status(), 404);
    assert_eq!(app.get(&c, "/o/globex").await.status(), 200);
}

#[sqlx::test(migrations = "../migrations")]
async fn anonymous_visitors_are_sent_to_login_and_back(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.client();
    let r = app.get(&c, "/o/acme/members").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=%2Fo%2Facme%2Fmembers");
    assert_eq!(app.get(&c, "/login").await.status(), 200);
    let r = app
        .post_plain(
            &c,
            "login",
            "/login?next=%2Fo%2Facme%2Fmembers",
            &[
                ("email", "admin@acme.test"),
                ("password", PASSWORD),
                ("next", "/o/acme/members"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/o/acme/members");
    assert_eq!(app.get(&c, "/o/acme/members").await.status(), 200);
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_password_and_unknown_email_answer_alike_and_are_audited(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.client();
    let wrong = app
        .call(
            &c,
            "login",
            &[("email", "admin@acme.test"), ("password", "nope")],
        )
        .await;
    let wrong_status = wrong.status();
    let wrong_body = wrong.text().await.unwrap();
    let unknown = app
        .call(
            &c,
            "login",
            &[("email", "ghost@acme.test"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong_status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.status(), wrong_status);
    assert_eq!(unknown.text().await.unwrap(), wrong_body);
    assert!(wrong_body.contains("Wrong e-mail or password"));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'login.failed'")
            .await,
        2
    );
    app.login_as("admin@acme.test").await;
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'login' AND target = 'admin@acme.test' AND ip = '127.0.0.1'").await,
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn five_failed_logins_in_15_minutes_lock_that_email_with_429(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.client();
    for i in 0..5 {
        let r = app
            .call(
                &c,
                "login",
                &[("email", "user@acme.test"), ("password", "wrong")],
            )
            .await;
        assert_eq!(r.status(), 422, "attempt {i}");
    }
    // Even the right password is refused now, with the wait in minutes.
    let r = app
        .call(
            &c,
            "login",
            &[("email", "user@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 429);
    let body = r.text().await.unwrap();
    assert!(body.contains("Try again in 15 minutes"), "{body}");
    // Other e-mails are unaffected.
    app.login_as("admin@acme.test").await;
    // Failures older than 15 minutes no longer count.
    sqlx::query("UPDATE login_attempts SET created_at = now() - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.login_as("user@acme.test").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn writes_from_another_origin_are_rejected(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    // Same cookies, foreign Origin.
    let r = owner
        .post(format!("{}/api/add_member", app.base))
        .header("origin", "http://evil.test")
        .form(&[
            ("org", "acme"),
            ("email", "user@globex.test"),
            ("role", "admin"),
            ("password", "long password 1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // No Origin: a foreign Referer is rejected too, and so is neither header.
    let bare = app.client_with_origin(None);
    let r = bare
        .post(format!("{}/api/login", app.base))
        .header("referer", "http://evil.test/page")
        .form(&[("email", "admin@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = bare
        .post(format!("{}/api/login", app.base))
        .form(&[("email", "admin@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'user@globex.test'")
            .await,
        0
    );
    // A same-origin Referer is accepted when Origin is absent.
    let r = bare
        .post(format!("{}/api/login", app.base))
        .header("referer", format!("{}/login", app.base))
        .form(&[("email", "admin@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[sqlx::test(migrations = "../migrations")]
async fn changing_the_password_ends_the_users_other_sessions(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = app.login_as("user@acme.test").await;
    let b = app.login_as("user@acme.test").await;
    let me = |c: reqwest::Client| {
        let url = format!("{}/api/me", app.base);
        async move {
            let r = c.post(url).send().await.unwrap();
            common::decode::<Option<app::model::Me>>(r)
                .await
                .to_string()
        }
    };
    assert!(me(b.clone()).await.contains("user@acme.test"));
    let r = app
        .call(
            &a,
            "change_password",
            &[
                ("current", "wrong"),
                ("new_password", "another password"),
                ("confirm", "another password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .call(
            &a,
            "change_password",
            &[
                ("current", PASSWORD),
                ("new_password", "another password"),
                ("confirm", "different"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .call(
            &a,
            "change_password",
            &[
                ("current", PASSWORD),
                ("new_password", "another password"),
                ("confirm", "another password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        me(a.clone()).await.contains("user@acme.test"),
        "this session stays"
    );
    assert_eq!(me(b.clone()).await, "null", "the other session ended");
    assert_eq!(app.get(&b, "/o/acme").await.status(), 303);
    let old = app
        .call(
            &app.client(),
            "login",
            &[("email", "user@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status(), 422);
    let new = app
        .call(
            &app.client(),
            "login",
            &[
                ("email", "user@acme.test"),
                ("password", "another password"),
            ],
        )
        .await;
    assert_eq!(new.status(), 200);
}

/// The session's `Set-Cookie` (a successful login also sets the device cookie, login_limits.rs).
fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("phonehub_session="))
        .expect("a session cookie")
        .to_string()
}

#[sqlx::test(migrations = "../migrations")]
async fn login_sets_a_fresh_httponly_samesite_session_cookie(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.client();
    let r = app
        .call(
            &c,
            "login",
            &[("email", "admin@acme.test"), ("password", PASSWORD)],
        )
        .await;
    let cookie = session_cookie(&r);
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(
        !cookie.contains("Secure"),
        "plain http deployments cannot use Secure cookies"
    );
    // Logging in again from the same browser yields a different session id (no fixation).
    let again = app.call(&c, "logout", &[]).await;
    assert!(again.status().is_success());
    let r2 = app
        .call(
            &c,
            "login",
            &[("email", "admin@acme.test"), ("password", PASSWORD)],
        )
        .await;
    let cookie2 = session_cookie(&r2);
    assert_ne!(cookie.split(';').next(), cookie2.split(';').next());
}

#[sqlx::test(migrations = "../migrations")]
async fn https_public_urls_get_secure_cookies(pool: PgPool) {
    let app = common::spawn_app_with(pool, "https://127.0.0.1:0").await;
    let c = app.client_with_origin(Some(&app.base.replace("http://", "https://")));
    let r = app
        .call(
            &c,
            "login",
            &[("email", "admin@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(session_cookie(&r).contains("Secure"));
    // The device cookie too.
    for c in r.headers().get_all("set-cookie") {
        assert!(c.to_str().unwrap().contains("Secure"), "{c:?}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_last_owner_can_be_neither_demoted_nor_removed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let id = app.user_id("admin@acme.test").await.to_string();
    let r = app
        .call(
            &owner,
            "change_role",
            &[("org", "acme"), ("user_id", &id), ("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("last owner"));
    let r = app
        .call(
            &owner,
            "remove_member",
            &[("org", "acme"), ("user_id", &id)],
        )
        .await;
    assert_eq!(r.status(), 409);
    // Admins cannot touch owners at all.
    let admin = app.login_as("second@acme.test").await;
    let r = app
        .call(
            &admin,
            "remove_member",
            &[("org", "acme"), ("user_id", &id)],
        )
        .await;
    assert_eq!(r.status(), 403);
    // With a second owner, the first may step down.
    let member = app.user_id("user@acme.test").await.to_string();
    let r = app
        .call(
            &owner,
            "change_role",
            &[("org", "acme"), ("user_id", &member), ("role", "owner")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .call(
            &owner,
            "change_role",
            &[("org", "acme"), ("user_id", &id), ("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'member.role_changed'")
            .await,
        2
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_input_gets_a_field_message_and_4xx_with_and_without_javascript(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let huge = "x".repeat(10 * 1024);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("org", "acme"), ("email", ""), ("role", "member")],
            "Enter an e-mail address.",
        ),
        (
            vec![("org", "acme"), ("email", &huge), ("role", "member")],
            "at most 254 characters",
        ),
        (
            vec![
                ("org", "acme"),
                ("email", "not-an-email"),
                ("role", "member"),
            ],
            "no @",
        ),
        (
            vec![("org", "acme"), ("email", "x@acme.test"), ("role", "boss")],
            "Choose a role",
        ),
        (
            vec![
                ("org", "acme"),
                ("email", "fresh@acme.test"),
                ("role", "member"),
            ],
            "initial password",
        ),
        (
            vec![
                ("org", "acme"),
                ("email", "fresh@acme.test"),
                ("role", "member"),
                ("password", "short"),
            ],
            "at least 10 characters",
        ),
        (
            vec![
                ("org", "acme"),
                ("email", "user@acme.test"),
                ("role", "member"),
                ("password", "a fine password 1"),
            ],
            "already a member",
        ),
    ];
    let before = app.count("SELECT count(*) FROM memberships").await;
    for (form, message) in &cases {
        let js = app.call(&owner, "add_member", form).await;
        assert_eq!(js.status(), 422, "{message}");
        assert!(js.text().await.unwrap().contains(message), "JS: {message}");
        let plain = app
            .post_plain(&owner, "add_member", "/o/acme/members", form)
            .await;
        assert_eq!(plain.status(), 422, "no-JS {message}");
        let html = plain.text().await.unwrap();
        assert!(html.contains(message), "no-JS page lacks {message:?}");
        assert!(
            html.contains("Members of"),
            "the members page is rendered again"
        );
    }
    assert_eq!(
        before,
        app.count("SELECT count(*) FROM memberships").await,
        "nothing written"
    );
    // Malformed or missing arguments are a client error, not a 500.
    let r = app
        .call(
            &owner,
            "change_role",
            &[("org", "acme"), ("user_id", "abc"), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = app.call(&owner, "add_member", &[("org", "acme")]).await;
    assert_eq!(r.status(), 400);
    // The no-JS page keeps what was typed (never the password).
    let plain = app
        .post_plain(
            &owner,
            "add_member",
            "/o/acme/members",
            &[
                ("org", "acme"),
                ("email", "kept@acme.test"),
                ("role", "admin"),
                ("password", "tiny"),
            ],
        )
        .await;
    let html = plain.text().await.unwrap();
    assert!(html.contains("value=\"kept@acme.test\""));
    assert!(!html.contains("value=\"tiny\""));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_plain_form_post_that_succeeds_redirects_back_with_a_notice(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let r = app
        .post_plain(
            &owner,
            "add_member",
            "/o/acme/members",
            &[
                ("org", "acme"),
                ("email", "admin@globex.test"),
                ("role", "admin"),
                ("password", "their own is kept 1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme/members?notice=invitation-sent"
    );
    let page = app
        .get(&owner, "/o/acme/members?notice=invitation-sent")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Invitation sent"));
    assert!(page.contains("admin@globex.test"));
    let audit: (String, serde_json::Value) =
        sqlx::query_as("SELECT target, details FROM audit_log WHERE action = 'invitation.created'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit.0, "admin@globex.test");
    assert_eq!(audit.1["role"], "admin");
    // Whether an account was created is not the org's to know (nor its audit log's).
    assert!(audit.1.get("created_user").is_none());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_superadmin_creates_orgs_and_sets_staff_flags(pool: PgPool) {
    let app = spawn_app(pool).await;
    let root = app.login_as("root@phonehub.test").await;
    let r = app
        .call(
            &root,
            "admin_create_org",
            &[
                ("name", "Initech"),
                ("slug", "initech"),
                ("owner_email", "user@acme.test"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .call(
            &root,
            "admin_create_org",
            &[
                ("name", "Other"),
                ("slug", "initech"),
                ("owner_email", "user@acme.test"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already uses"));
    let member = app.login_as("user@acme.test").await;
    assert_eq!(app.get(&member, "/o/initech").await.status(), 200);
    let id = app.user_id("user@acme.test").await.to_string();
    let r = app
        .call(
            &root,
            "admin_set_flags",
            &[("user_id", &id), ("is_support", "on")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE is_support AND email = 'user@acme.test'")
            .await,
        1
    );
    // The last superadmin cannot drop their own flag.
    let root_id = app.user_id("root@phonehub.test").await.to_string();
    let r = app
        .call(&root, "admin_set_flags", &[("user_id", &root_id)])
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action IN ('org.created', 'user.flags_changed')"
        )
        .await,
        2
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn health_and_readiness_answer_200_with_the_database(pool: PgPool) {
    let app = spawn_app(pool).await;
    for path in ["/healthz", "/readyz"] {
        let r = app.get(&app.client(), path).await;
        assert_eq!(r.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn without_a_database_readiness_and_pages_answer_503_and_the_server_keeps_running() {
    let mut settings = common::settings("http://127.0.0.1:0");
    // Nothing listens on port 1.
    settings.database_url = "postgres://postgres@127.0.0.1:1/phonehub".into();
    let pool = server::startup::pool_for(&settings).unwrap();
    let app = server::Application::build_with_pool(settings, pool)
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    for _ in 0..2 {
        // Alive (the process answers), not ready (no database).
        let r = c.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = c.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        // The login page itself needs no database; logging in does.
        assert_eq!(
            c.get(format!("{base}/login"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let r = c
            .post(format!("{base}/api/login"))
            .header("origin", &base)
            .form(&[("email", "admin@acme.test"), ("password", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        // The hydrated app decodes this and shows AppError::Unavailable's message.
        assert_eq!(r.text().await.unwrap(), "\"Unavailable\"");
        let r = c
            .post(format!("{base}/api/login"))
            .header("origin", &base)
            .header("accept", "text/html")
            .header("referer", format!("{base}/login"))
            .form(&[("email", "admin@acme.test"), ("password", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        assert!(r.text().await.unwrap().contains("temporarily unavailable"));
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn when_the_database_goes_away_pages_answer_503_and_recover_when_it_is_back(pool: PgPool) {
    server::seed::seed_demo(&pool).await.unwrap();
    let (proxy, proxied) = common::DbProxy::in_front_of(&pool).await;
    let app = server::Application::build_with_pool(common::settings("http://127.0.0.1:0"), proxied)
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let app = TestApp { base, pool };
    let c = app.login_as("admin@acme.test").await;
    assert_eq!(app.get(&c, "/o/acme").await.status(), 200);

    proxy.set_up(false);
    // Within the pool's wait and one confirmation, not when some query times out.
    let started = std::time::Instant::now();
    let r = app.get(&c, "/o/acme").await;
    let took = started.elapsed();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("temporarily unavailable"));
    assert!(took < common::in_an_outage(), "503 after {took:?}");
    // Alive, but not ready: a load balancer stops sending traffic instead of restarting it.
    assert_eq!(app.get(&c, "/healthz").await.status(), 200);
    let started = std::time::Instant::now();
    let r = app.get(&c, "/readyz").await;
    assert_eq!(r.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));

    proxy.set_up(true);
    // The pool reconnects by itself; allow it a few attempts.
    let mut status = 0;
    for _ in 0..20 {
        status = app.get(&c, "/o/acme").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200, "the server recovered");
    assert_eq!(app.get(&c, "/readyz").await.status(), 200);
    // A database behind this build's schema (the newest migration not applied) is not ready.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let r = app.get(&c, "/readyz").await;
    assert_eq!(r.status(), 503);
    // Anonymous clients learn nothing about the schema (the detail is in the log).
    assert_eq!(r.text().await.unwrap(), "not ready");
}

#[sqlx::test(migrations = "../migrations")]
async fn development_serves_the_sandbox_as_the_default_provider(pool: PgPool) {
    use telephony::provider::{Numbers, Provider};
    let mut settings = common::settings("http://127.0.0.1:0");
    settings.sandbox_enabled = true;
    settings.data_dir = std::env::temp_dir().join(format!("phonehub-sbx-{}", std::process::id()));
    let app = server::Application::build_with_pool(settings, pool)
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let mut cfg = telephony::TwilioConfig::new(
        telephony::sandbox::DEV_ACCOUNT_SID,
        telephony::sandbox::DEV_AUTH_TOKEN,
    );
    cfg.api_base = format!("{base}/sandbox/twilio/api");
    cfg.lookups_base = format!("{base}/sandbox/twilio/lookups");
    cfg.allow_private_networks = true;
    let twilio = telephony::TwilioClient::new(cfg).unwrap();
    assert_eq!(
        twilio.test_connection().await.unwrap().sid,
        telephony::sandbox::DEV_ACCOUNT_SID
    );
    // Provider-style POSTs carry no Origin and no session: the sandbox is outside those checks.
    let bought = twilio
        .buy_number("+14155550177", &Default::default())
        .await
        .unwrap();
    assert!(bought.sid.starts_with("PN"));
    twilio.release_number(&bought.sid).await.unwrap();
    let bought = common::sandbox_stat(
        &format!("{base}/sandbox/twilio"),
        "CreateIncomingPhoneNumber",
    )
    .await;
    assert_eq!(bought, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sandbox_is_off_unless_enabled(pool: PgPool) {
    let app = spawn_app(pool).await;
    let r = app.get(&app.client(), "/sandbox/twilio/_stats").await;
    assert_eq!(r.status(), 404);
}
