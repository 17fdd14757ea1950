//! Membership by consent: an org invites an e-mail, sees it by address only, and gets a member only
//! when the person behind it accepts; declines, revocations and lapsed invitations, with
//! JavaScript on and off; a pending invitee is nobody the org can act as; and the inviting admin
//! cannot tell whether the e-mail had an account.

use crate::common;

use app::model::api_keys::ApiKeysPage;
use app::model::invitations::MyInvitation;
use app::model::{Dashboard, MembersPage};
use common::{spawn_app, TestApp};
use serde_json::Value;
use sqlx::PgPool;

/// Has an account, is not in Acme: their name must not reach Acme before they accept.
const INVITEE: &str = "admin@globex.test";
const INVITEE_NAME: &str = "Gus Globex";
const INITIAL_PASSWORD: &str = "an initial password 1";

fn invite_form<'a>(email: &'a str, role: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("org", "acme"),
        ("email", email),
        ("role", role),
        ("name", "Pat"),
        ("password", INITIAL_PASSWORD),
    ]
}

/// Acme's owner (or admin) invites `email`, as the hydrated page does.
async fn invite(app: &TestApp, by: &reqwest::Client, email: &str, role: &str) -> reqwest::Response {
    app.call(by, "add_member", &invite_form(email, role)).await
}

/// The same, as a browser with JavaScript off.
async fn invite_plain(
    app: &TestApp,
    by: &reqwest::Client,
    email: &str,
    role: &str,
) -> reqwest::Response {
    app.post_plain(
        by,
        "add_member",
        "/o/acme/members",
        &invite_form(email, role),
    )
    .await
}

async fn open_invitation_id(app: &TestApp, email: &str) -> String {
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM invitations WHERE email = $1 AND status = 'pending'")
            .bind(email)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    id.to_string()
}

async fn role_in_acme(app: &TestApp, email: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT m.role FROM memberships m JOIN orgs o ON o.id = m.org_id
         JOIN users u ON u.id = m.user_id WHERE o.slug = 'acme' AND u.email = $1",
    )
    .bind(email)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn my_invitations(app: &TestApp, c: &reqwest::Client) -> Vec<Value> {
    app.load::<Vec<MyInvitation>>(c, "my_invitations", &[])
        .await
        .as_array()
        .unwrap()
        .clone()
}

async fn members_page(app: &TestApp, c: &reqwest::Client) -> Value {
    app.load::<MembersPage>(c, "list_members", &[("org", "acme")])
        .await
}

async fn member_count(app: &TestApp, c: &reqwest::Client) -> Value {
    app.load::<Dashboard>(c, "org_dashboard", &[("org", "acme")])
        .await["members"]
        .clone()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_invited_account_is_shown_to_the_org_by_email_only_and_joins_by_accepting(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let members_before = member_count(&app, &owner).await;

    let r = invite(&app, &owner, INVITEE, "admin").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        role_in_acme(&app, INVITEE).await,
        None,
        "an invitation is no membership"
    );
    assert_eq!(audited(&app, "invitation.created").await, 1);

    // The org sees the address, the role and the expiry; not the name, not that an account exists.
    let page = members_page(&app, &owner).await;
    let invitations = page["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0]["email"], INVITEE);
    assert_eq!(invitations[0]["role"], "admin");
    assert_eq!(invitations[0]["expired"], false);
    assert!(page["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["email"] != INVITEE));
    assert!(!page.to_string().contains(INVITEE_NAME));
    let html = app
        .get(&owner, "/o/acme/members")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(INVITEE));
    assert!(html.contains("Pending · expires"));
    assert!(
        !html.contains(INVITEE_NAME),
        "the name shows before they accept"
    );
    assert_eq!(
        member_count(&app, &owner).await,
        members_before,
        "a pending invitee is not counted as a member"
    );

    // The invitee: not a member yet; the invitation waits on their home page, which no longer
    // sends them straight on to their own org.
    let invitee = app.login_as(INVITEE).await;
    assert_eq!(app.get(&invitee, "/o/acme").await.status(), 404);
    let mine = my_invitations(&app, &invitee).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["org_name"], "Acme Corp");
    assert_eq!(mine[0]["role"], "admin");
    assert_eq!(mine[0]["invited_by"], "admin@acme.test");
    let home = app.get(&invitee, "/").await;
    assert_eq!(home.status(), 200);
    let home = home.text().await.unwrap();
    assert!(
        home.contains("admin@acme.test invited you to Acme Corp as admin."),
        "{home}"
    );
    assert!(home.contains("Accept the invitation to Acme Corp"));

    let id = mine[0]["id"].as_i64().unwrap().to_string();
    let r = app
        .call(&invitee, "accept_invitation", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(role_in_acme(&app, INVITEE).await.as_deref(), Some("admin"));
    assert_eq!(audited(&app, "invitation.accepted").await, 1);
    assert_eq!(app.get(&invitee, "/o/acme").await.status(), 200);
    assert!(my_invitations(&app, &invitee).await.is_empty());

    // Accepted: a member, known by name; no longer an invitation.
    let page = members_page(&app, &owner).await;
    assert!(page["invitations"].as_array().unwrap().is_empty());
    assert!(page["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| { m["email"] == INVITEE && m["name"] == INVITEE_NAME && m["role"] == "admin" }));
    // An invitation is accepted once.
    let r = app
        .call(&invitee, "accept_invitation", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 404);
}

#[sqlx::test(migrations = "../migrations")]
async fn without_javascript_invitations_are_sent_declined_revoked_and_accepted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let invitee = app.login_as(INVITEE).await;

    let r = invite_plain(&app, &owner, INVITEE, "member").await;
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
    assert!(page.contains(&format!("Revoke the invitation of {INVITEE}")));
    assert!(!page.contains(INVITEE_NAME));

    // Declined from the home page.
    let home = app.get(&invitee, "/").await.text().await.unwrap();
    assert!(home.contains("Decline the invitation to Acme Corp"));
    let id = open_invitation_id(&app, INVITEE).await;
    let r = app
        .post_plain(&invitee, "decline_invitation", "/", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/?notice=invitation-declined");
    assert_eq!(role_in_acme(&app, INVITEE).await, None);
    assert_eq!(audited(&app, "invitation.declined").await, 1);
    assert!(members_page(&app, &owner).await["invitations"]
        .as_array()
        .unwrap()
        .is_empty());

    // Sent again, and revoked by an admin: it can no longer be accepted.
    assert_eq!(
        invite_plain(&app, &owner, INVITEE, "member").await.status(),
        303
    );
    let id = open_invitation_id(&app, INVITEE).await;
    let admin = app.login_as("second@acme.test").await;
    let r = app
        .post_plain(
            &admin,
            "revoke_invitation",
            "/o/acme/members",
            &[("org", "acme"), ("id", &id)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme/members?notice=invitation-revoked"
    );
    assert_eq!(audited(&app, "invitation.revoked").await, 1);
    let r = app
        .post_plain(&invitee, "accept_invitation", "/", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(role_in_acme(&app, INVITEE).await, None);

    // Sent a third time and accepted: a member with the role it named.
    assert_eq!(
        invite_plain(&app, &owner, INVITEE, "member").await.status(),
        303
    );
    let id = open_invitation_id(&app, INVITEE).await;
    let r = app
        .post_plain(&invitee, "accept_invitation", "/", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/o/acme?notice=invitation-accepted"
    );
    let dashboard = app
        .get(&invitee, "/o/acme?notice=invitation-accepted")
        .await
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("Invitation accepted"));
    assert_eq!(role_in_acme(&app, INVITEE).await.as_deref(), Some("member"));
    assert_eq!(audited(&app, "invitation.accepted").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_expired_invitation_cannot_be_accepted_and_a_new_one_can_be_sent(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    assert_eq!(invite(&app, &owner, INVITEE, "member").await.status(), 200);
    let lapsed = open_invitation_id(&app, INVITEE).await;
    // Past its seven days, by the database's clock.
    sqlx::query("UPDATE invitations SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();

    let invitee = app.login_as(INVITEE).await;
    assert!(
        my_invitations(&app, &invitee).await.is_empty(),
        "offered after it lapsed"
    );
    let r = app
        .call(&invitee, "accept_invitation", &[("id", &lapsed)])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This invitation has expired"));
    let r = app
        .post_plain(&invitee, "accept_invitation", "/", &[("id", &lapsed)])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This invitation has expired"));
    assert_eq!(role_in_acme(&app, INVITEE).await, None);
    assert_eq!(audited(&app, "invitation.accepted").await, 0);

    // The org sees it lapsed and can send a new one, which can be accepted.
    let html = app
        .get(&owner, "/o/acme/members")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Expired "));
    assert_eq!(invite(&app, &owner, INVITEE, "member").await.status(), 200);
    let fresh = open_invitation_id(&app, INVITEE).await;
    assert_ne!(fresh, lapsed);
    let r = app
        .call(&invitee, "accept_invitation", &[("id", &fresh)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(role_in_acme(&app, INVITEE).await.as_deref(), Some("member"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pending_invitee_cannot_be_chosen_for_an_api_key_acting_as_a_member(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    assert_eq!(invite(&app, &owner, INVITEE, "member").await.status(), 200);
    let keys = app
        .load::<ApiKeysPage>(&owner, "load_api_keys", &[("org", "acme")])
        .await;
    assert!(
        keys["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["email"] != INVITEE),
        "offered as someone a key may act as"
    );
    let pending = app.user_id(INVITEE).await.to_string();
    let form = [
        ("org", "acme"),
        ("name", "As them"),
        ("acting_as", pending.as_str()),
        ("scope_lookups", "on"),
    ];
    let r = app.call(&owner, "create_api_key", &form).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Choose a member of this org."));
    let r = app
        .post_plain(&owner, "create_api_key", "/o/acme/admin/api-keys", &form)
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 0);

    // Once they have said yes, they can be.
    let invitee = app.login_as(INVITEE).await;
    let id = open_invitation_id(&app, INVITEE).await;
    let r = app
        .call(&invitee, "accept_invitation", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.call(&owner, "create_api_key", &form).await.status(),
        200
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_addressee_decides_and_only_the_orgs_managers_revoke(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    assert_eq!(invite(&app, &owner, INVITEE, "member").await.status(), 200);
    let id = open_invitation_id(&app, INVITEE).await;

    let member = app.login_as("user@acme.test").await;
    for endpoint in ["accept_invitation", "decline_invitation"] {
        let r = app.call(&member, endpoint, &[("id", &id)]).await;
        assert_eq!(r.status(), 404, "{endpoint} by someone else");
    }
    let revoke = [("org", "acme"), ("id", id.as_str())];
    assert_eq!(
        app.call(&member, "revoke_invitation", &revoke)
            .await
            .status(),
        403
    );
    let support = app.login_as("support@phonehub.test").await;
    assert_eq!(
        app.call(&support, "revoke_invitation", &revoke)
            .await
            .status(),
        403
    );
    // Globex's owner (the invitee) reaches it neither through Acme nor through Globex.
    let invitee = app.login_as(INVITEE).await;
    assert_eq!(
        app.call(&invitee, "revoke_invitation", &revoke)
            .await
            .status(),
        404
    );
    let r = app
        .call(
            &invitee,
            "revoke_invitation",
            &[("org", "globex"), ("id", id.as_str())],
        )
        .await;
    assert_eq!(r.status(), 404);
    let anonymous = app.client();
    let r = app
        .call(&anonymous, "accept_invitation", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        app.count("SELECT count(*) FROM invitations WHERE status = 'pending'")
            .await,
        1
    );
    assert_eq!(role_in_acme(&app, INVITEE).await, None);

    // One open invitation per address; only owners invite owners.
    let r = invite(&app, &owner, INVITEE, "member").await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("has been invited to Acme Corp already"));
    let admin = app.login_as("second@acme.test").await;
    let r = invite(&app, &admin, "someone@example.test", "owner").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Only owners"));
}

/// A response as the admin's browser gets it: status, where it redirects, and the body with the
/// per-response CSP nonces blanked.
async fn seen(r: reqwest::Response) -> String {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = r.text().await.unwrap();
    let mut nonces = Vec::new();
    let mut rest = body.as_str();
    while let Some(i) = rest.find("nonce=\"") {
        rest = &rest[i + "nonce=\"".len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        nonces.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    let mut body = body;
    for n in nonces.iter().filter(|n| !n.is_empty()) {
        body = body.replace(n.as_str(), "NONCE");
    }
    format!("{status} {location:?}\n{body}")
}

async fn pin_expiries(app: &TestApp) {
    sqlx::query("UPDATE invitations SET expires_at = '2030-01-01T00:00:00Z'")
        .execute(&app.pool)
        .await
        .unwrap();
}

/// Everything the inviting admin sees when inviting `email`: the form's answers refused and
/// accepted, with JavaScript and without, the members page and its data, a revocation. Each
/// round starts from the same invitation ids, and expiries are pinned (a round may cross a
/// minute).
async fn what_the_admin_sees(app: &TestApp, owner: &reqwest::Client, email: &str) -> Vec<String> {
    sqlx::query("DELETE FROM invitations")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("ALTER SEQUENCE invitations_id_seq RESTART WITH 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let form = invite_form(email, "admin");
    let mut no_password = form;
    no_password[4] = ("password", "");
    let mut out = Vec::new();
    out.push(seen(app.call(owner, "add_member", &no_password).await).await);
    out.push(
        seen(
            app.post_plain(owner, "add_member", "/o/acme/members", &no_password)
                .await,
        )
        .await,
    );
    out.push(seen(app.call(owner, "add_member", &form).await).await);
    pin_expiries(app).await;
    // Again: refused, the invitation is open already.
    out.push(seen(app.call(owner, "add_member", &form).await).await);
    out.push(
        seen(
            app.post_plain(owner, "add_member", "/o/acme/members", &form)
                .await,
        )
        .await,
    );
    out.push(seen(app.get(owner, "/o/acme/members").await).await);
    out.push(members_page(app, owner).await.to_string());
    let id = open_invitation_id(app, email).await;
    out.push(
        seen(
            app.call(
                owner,
                "revoke_invitation",
                &[("org", "acme"), ("id", id.as_str())],
            )
            .await,
        )
        .await,
    );
    out.push(
        seen(
            app.post_plain(owner, "add_member", "/o/acme/members", &form)
                .await,
        )
        .await,
    );
    pin_expiries(app).await;
    out.push(seen(app.get(owner, "/o/acme/members").await).await);
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn the_inviting_admin_sees_the_same_whether_or_not_the_email_has_an_account(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    const PAT: &str = "pat@example.test";

    // The address has an account, with a name Acme must not learn.
    sqlx::query(
        "INSERT INTO users (email, name, password_hash)
         SELECT $1, 'Pat Private', password_hash FROM users WHERE email = 'admin@acme.test'",
    )
    .bind(PAT)
    .execute(&app.pool)
    .await
    .unwrap();
    let with_account = what_the_admin_sees(&app, &owner, PAT).await;

    // The same address without one.
    sqlx::query("DELETE FROM users WHERE email = $1")
        .bind(PAT)
        .execute(&app.pool)
        .await
        .unwrap();
    let without_account = what_the_admin_sees(&app, &owner, PAT).await;

    assert_eq!(with_account.len(), without_account.len());
    for (step, (a, b)) in with_account.iter().zip(&without_account).enumerate() {
        assert_eq!(a, b, "step {step} differs");
    }
    assert!(with_account.iter().all(|s| !s.contains("Pat Private")));
    assert!(with_account[2].starts_with("200 "), "{}", with_account[2]);
    assert!(with_account[5].contains("Pending · expires 2030-01-01 00:00 UTC"));
    let created: Vec<String> = sqlx::query_scalar(
        "SELECT details::text FROM audit_log WHERE action = 'invitation.created' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(created.len(), 4);
    assert_eq!(created[..2], created[2..], "the audit log tells them apart");

    // The new account has the initial password, and its invitation waits for its first sign-in
    // (`a_new_account_chooses_its_own_password_before_anything_else` follows it there).
    let pat = app.client();
    let r = app
        .call(
            &pat,
            "login",
            &[("email", PAT), ("password", INITIAL_PASSWORD)],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    choose_own_password(&app, &pat).await;
    let mine = my_invitations(&app, &pat).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["role"], "admin");
    assert_eq!(role_in_acme(&app, PAT).await, None);
}

const OWN_PASSWORD: &str = "a password of my own";

/// The signed-in person replaces the initial password with their own, as the account page does.
async fn choose_own_password(app: &TestApp, c: &reqwest::Client) {
    let r = app
        .call(
            c,
            "change_password",
            &[
                ("current", INITIAL_PASSWORD),
                ("new_password", OWN_PASSWORD),
                ("confirm", OWN_PASSWORD),
            ],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_new_account_chooses_its_own_password_before_anything_else(pool: PgPool) {
    // The attack this closes: the admin who chose the initial password keeps a way into the
    // account for as long as its owner has not replaced it; its owner replaces it at once.
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    const NEW: &str = "newcomer@example.test";
    assert_eq!(invite(&app, &owner, NEW, "member").await.status(), 200);
    let id = open_invitation_id(&app, NEW).await;
    let newcomer = app.client();
    let r = app
        .call(
            &newcomer,
            "login",
            &[("email", NEW), ("password", INITIAL_PASSWORD)],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());

    // Every page leads to the account page, which says why.
    for page in ["/", "/o/acme", "/o/acme/numbers", "/admin/orgs"] {
        let r = app.get(&newcomer, page).await;
        assert_eq!(r.status(), 303, "{page}");
        assert_eq!(r.headers()["location"], "/account", "{page}");
    }
    let html = app.get(&newcomer, "/account").await.text().await.unwrap();
    assert!(html.contains("made for you with a password someone else chose"));
    assert!(html.contains("The password you were given"));
    // The hydrated app's calls are refused with the sentence; a plain form goes to the account
    // page; nothing is done either way.
    let r = app
        .call(&newcomer, "accept_invitation", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("choose your own on your account page"));
    let r = app.call(&newcomer, "my_invitations", &[]).await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_plain(&newcomer, "accept_invitation", "/", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account");
    assert_eq!(role_in_acme(&app, NEW).await, None);
    // What the account page needs still answers.
    let me = app
        .load::<Option<app::model::Me>>(&newcomer, "me", &[])
        .await;
    assert_eq!(me["must_change_password"], true);

    // A wrong "given" password is refused like any wrong current password.
    let r = app
        .call(
            &newcomer,
            "change_password",
            &[
                ("current", "not the one given"),
                ("new_password", OWN_PASSWORD),
                ("confirm", OWN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app.get(&newcomer, "/").await;
    assert_eq!(r.status(), 303);

    choose_own_password(&app, &newcomer).await;
    // Everything opens; the invitation is there to accept; the banner is gone.
    assert_eq!(app.get(&newcomer, "/").await.status(), 200);
    let html = app.get(&newcomer, "/account").await.text().await.unwrap();
    assert!(!html.contains("made for you with a password someone else chose"));
    assert_eq!(my_invitations(&app, &newcomer).await.len(), 1);
    let r = app
        .call(&newcomer, "accept_invitation", &[("id", &id)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(role_in_acme(&app, NEW).await.as_deref(), Some("member"));
    // The initial password no longer signs in.
    let r = app
        .call(
            &app.client(),
            "login",
            &[("email", NEW), ("password", INITIAL_PASSWORD)],
        )
        .await;
    assert!(!r.status().is_success());

    // The superadmin's "create user" makes an account that must choose too; the first
    // superadmin made with the command, and the demo accounts, chose their own.
    let root = app.login_as("root@phonehub.test").await;
    let r = app
        .call(
            &root,
            "admin_create_user",
            &[
                ("email", "made@example.test"),
                ("password", INITIAL_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let forced: Vec<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE must_change_password ORDER BY email")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(forced, ["made@example.test"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_invitation_dies_with_its_inviters_authority_and_staff_never_join(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    // second@acme.test (an admin) invites Globex's owner as an admin, then is removed.
    let second = app.login_as("second@acme.test").await;
    assert_eq!(invite(&app, &second, INVITEE, "admin").await.status(), 200);
    let id = open_invitation_id(&app, INVITEE).await;
    let second_id = app.user_id("second@acme.test").await.to_string();
    let r = app
        .call(
            &owner,
            "remove_member",
            &[("org", "acme"), ("user_id", &second_id)],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let invitee = app.login_as(INVITEE).await;
    let r = app
        .call(&invitee, "accept_invitation", &[("id", &id)])
        .await;
    assert_eq!(
        r.status(),
        404,
        "an invitation its sender may no longer send"
    );
    assert_eq!(role_in_acme(&app, INVITEE).await, None);
    assert_eq!(audited(&app, "invitation.accepted").await, 0);

    // Support staff read every org as staff: invited, they can neither accept nor decline.
    assert_eq!(
        invite(&app, &owner, "support@phonehub.test", "member")
            .await
            .status(),
        200
    );
    let id = open_invitation_id(&app, "support@phonehub.test").await;
    let support = app.login_as("support@phonehub.test").await;
    for endpoint in ["accept_invitation", "decline_invitation"] {
        let r = app.call(&support, endpoint, &[("id", &id)]).await;
        assert_eq!(r.status(), 403, "{endpoint}");
    }
    assert_eq!(role_in_acme(&app, "support@phonehub.test").await, None);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM invitations WHERE status = 'pending' AND email = 'support@phonehub.test'"
        )
        .await,
        1,
        "still pending"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_sends_at_most_fifty_invitations_an_hour(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    // Fifty sent in the last hour (written directly: each real one costs a password hash).
    sqlx::query(
        "INSERT INTO invitations (org_id, email, role, invited_by, expires_at)
         SELECT o.id, 'bulk' || g || '@example.test', 'member', u.id, now() + interval '7 days'
         FROM orgs o, users u, generate_series(1, 50) g
         WHERE o.slug = 'acme' AND u.email = 'admin@acme.test'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let r = invite(&app, &owner, "one.more@example.test", "member").await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        app.count("SELECT count(*) FROM invitations WHERE email = 'one.more@example.test'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'one.more@example.test'")
            .await,
        0,
        "nothing written"
    );
    // An hour later the admin may send again.
    sqlx::query("UPDATE invitations SET created_at = created_at - interval '61 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        invite(&app, &owner, "one.more@example.test", "member")
            .await
            .status(),
        200
    );
}
