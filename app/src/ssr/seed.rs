//! Demo data for development mode: two orgs, their people and the staff accounts (README lists them).

use crate::model::Role;
use sqlx::PgPool;

use super::auth::hash_password;
use super::db;

pub const DEMO_PASSWORD: &str = "phonehub-demo";

/// (e-mail, name, support, superadmin)
const USERS: &[(&str, &str, bool, bool)] = &[
    ("admin@acme.test", "Ada Admin", false, false),
    ("user@acme.test", "Uma User", false, false),
    ("admin@globex.test", "Gus Globex", false, false),
    ("support@phonehub.test", "Sam Support", true, false),
    ("root@phonehub.test", "Rita Root", false, true),
];

/// (slug, name, [(e-mail, role)])
type DemoOrg = (&'static str, &'static str, &'static [(&'static str, Role)]);

const ORGS: &[DemoOrg] = &[
    (
        "acme",
        "Acme Corp",
        &[
            ("admin@acme.test", Role::Owner),
            ("user@acme.test", Role::Member),
        ],
    ),
    // Ada is in both orgs, so the org switcher has something to switch.
    (
        "globex",
        "Globex",
        &[
            ("admin@globex.test", Role::Owner),
            ("admin@acme.test", Role::Member),
        ],
    ),
];

/// Seeds once: does nothing when any user exists already.
pub async fn seed_demo(pool: &PgPool) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let mut tx = pool.begin().await?;
    // Two servers starting at once on one database seed once.
    db::lock_for_seeding(&mut tx).await?;
    if !db::users::list(&mut *tx).await?.is_empty() {
        return Ok(false);
    }
    let hash = hash_password(DEMO_PASSWORD.to_string()).await?;
    for (email, name, support, superadmin) in USERS {
        let id = db::users::create(&mut *tx, email, name, &hash, false).await?;
        db::users::set_flags(&mut *tx, id, *support, *superadmin).await?;
    }
    for (slug, name, members) in ORGS {
        let org_id = db::orgs::create(&mut *tx, slug, name).await?;
        for (email, role) in *members {
            let user = db::users::by_email(&mut *tx, email)
                .await?
                .ok_or("seeded user missing")?;
            db::orgs::add_member(&mut *tx, org_id, user.id, *role).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}
