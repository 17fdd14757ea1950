//! The org's time zone: set by its owners on the dashboard (JavaScript on and off) to a zone of
//! the list only, on the record, refused to everyone else, and shown to every member.

use crate::common;

use app::model::Dashboard;
use common::{spawn_app, TestApp};
use sqlx::PgPool;

const PAGE: &str = "/o/acme";
const NOT_LISTED: &str = "Choose a time zone from the list.";

fn form(zone: &str) -> [(&str, &str); 2] {
    [("org", "acme"), ("time_zone", zone)]
}

async fn zone_of_acme(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT time_zone FROM orgs WHERE slug = 'acme'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn recorded_changes(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM audit_log WHERE action = 'org.time_zone_changed'")
        .await
}

#[sqlx::test(migrations = "../migrations")]
async fn an_owner_sets_the_time_zone_without_javascript_and_it_is_on_the_record(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let before = zone_of_acme(&app).await;
    assert_ne!(before, "Europe/Paris", "acme starts in its country's zone");

    let r = app
        .post_plain(&owner, "set_org_time_zone", PAGE, &form("Europe/Paris"))
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/o/acme?notice=time-zone-saved");
    assert_eq!(zone_of_acme(&app).await, "Europe/Paris");

    let audit: (String, serde_json::Value) = sqlx::query_as(
        "SELECT target, details FROM audit_log WHERE action = 'org.time_zone_changed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit.0, "org:acme");
    assert_eq!(audit.1["from"], before.as_str());
    assert_eq!(audit.1["to"], "Europe/Paris");

    let html = app
        .get(&owner, "/o/acme?notice=time-zone-saved")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Time zone saved"), "the notice is shown");
    assert!(
        html.contains("Time zone: Europe/Paris"),
        "the zone is named"
    );
    assert!(html.contains("Save time zone"), "owners see the form");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_time_zone_is_read_trimmed_and_choosing_it_again_is_no_error(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;

    let r = app
        .call(&owner, "set_org_time_zone", &form("  UTC \n"))
        .await;
    assert!(r.status().as_u16() < 400, "trimmed: {}", r.status());
    assert_eq!(zone_of_acme(&app).await, "UTC");
    let r = app.call(&owner, "set_org_time_zone", &form("UTC")).await;
    assert!(r.status().as_u16() < 400, "again: {}", r.status());
    assert_eq!(zone_of_acme(&app).await, "UTC");
    assert_eq!(recorded_changes(&app).await, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_time_zone_not_on_the_list_is_a_field_error_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let before = zone_of_acme(&app).await;
    let long = format!("Europe/{}", "a".repeat(10 * 1024));

    for zone in [
        "Mars/Olympus",
        "UTC'; drop table orgs;--",
        long.as_str(),
        "",
        "europe/paris",
    ] {
        let shown = &zone[..zone.len().min(30)];
        let r = app.call(&owner, "set_org_time_zone", &form(zone)).await;
        assert_eq!(r.status(), 422, "JS: {shown:?}");
        assert!(
            r.text().await.unwrap().contains(NOT_LISTED),
            "JS: {shown:?}"
        );

        let r = app
            .post_plain(&owner, "set_org_time_zone", PAGE, &form(zone))
            .await;
        assert_eq!(r.status(), 422, "no-JS: {shown:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(NOT_LISTED), "no-JS: {shown:?}");
        assert!(
            html.contains("Save time zone"),
            "the dashboard is rendered again"
        );
    }
    assert_eq!(zone_of_acme(&app).await, before, "nothing written");
    assert_eq!(recorded_changes(&app).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn only_owners_change_the_time_zone(pool: PgPool) {
    let app = spawn_app(pool).await;
    let before = zone_of_acme(&app).await;
    let admin = app.login_as("second@acme.test").await;

    let r = app
        .call(&admin, "set_org_time_zone", &form("Europe/Paris"))
        .await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Only the org's owners can change its time zone."));
    let r = app
        .post_plain(&admin, "set_org_time_zone", PAGE, &form("Europe/Paris"))
        .await;
    assert_eq!(r.status(), 403, "no-JS");

    for email in ["user@acme.test", "support@phonehub.test"] {
        let c = app.login_as(email).await;
        let r = app
            .call(&c, "set_org_time_zone", &form("Europe/Paris"))
            .await;
        assert_eq!(r.status(), 403, "{email}");
    }
    assert_eq!(zone_of_acme(&app).await, before, "nothing written");
    assert_eq!(recorded_changes(&app).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn every_member_sees_the_time_zone_and_only_owners_get_the_choices(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let member = app.login_as("user@acme.test").await;

    let r = app
        .call(&owner, "set_org_time_zone", &form("Europe/Paris"))
        .await;
    assert!(r.status().as_u16() < 400, "set: {}", r.status());

    let html = app.get(&member, PAGE).await.text().await.unwrap();
    assert!(
        html.contains("Time zone: Europe/Paris"),
        "the zone is named"
    );
    assert!(!html.contains("Save time zone"), "no form for members");

    let d = app
        .load::<Dashboard>(&member, "org_dashboard", &[("org", "acme")])
        .await;
    assert_eq!(d["time_zone"], "Europe/Paris");
    assert_eq!(d["time_zones"], serde_json::json!([]));

    let d = app
        .load::<Dashboard>(&owner, "org_dashboard", &[("org", "acme")])
        .await;
    let zones: Vec<&str> = d["time_zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z.as_str().unwrap())
        .collect();
    for listed in ["UTC", "Europe/Paris", "America/New_York"] {
        assert!(zones.contains(&listed), "{listed} is a choice");
    }
    let mut distinct = zones.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), zones.len(), "each zone once");
}

#[sqlx::test(migrations = "../migrations")]
async fn changing_the_country_resets_the_time_zone_on_the_record(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = app.login_as("admin@acme.test").await;
    let r = app
        .call(&owner, "set_org_time_zone", &form("Europe/Paris"))
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    let r = app
        .call(
            &owner,
            "set_org_country",
            &[("org", "acme"), ("country", "GB")],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.status());
    assert_eq!(zone_of_acme(&app).await, "Europe/London");
    let details: serde_json::Value =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'org.country_changed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(details["to"], "GB");
    assert_eq!(details["time_zone"]["from"], "Europe/Paris");
    assert_eq!(details["time_zone"]["to"], "Europe/London");
}
