//! Users and their staff flags.

use sqlx::PgExecutor;

use crate::model::AdminUserRow;

/// A user as stored: who they are, their staff flags and their password's hash.
#[derive(Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_support: bool,
    pub is_superadmin: bool,
    /// PHC string; never leaves the server, never printed.
    pub password_hash: String,
    /// Someone else chose the password (an account made for them): nothing but choosing their
    /// own until they do.
    pub must_change_password: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_support", &self.is_support)
            .field("is_superadmin", &self.is_superadmin)
            .field("password_hash", &"[redacted]")
            .field("must_change_password", &self.must_change_password)
            .finish()
    }
}

pub async fn by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT id, email, name, is_support, is_superadmin, password_hash, must_change_password FROM users WHERE email = $1",
        email
    )
    .fetch_optional(db)
    .await
}

pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT id, email, name, is_support, is_superadmin, password_hash, must_change_password FROM users WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// A new account; `must_change_password` when someone else chose its password.
pub async fn create(
    db: impl PgExecutor<'_>,
    email: &str,
    name: &str,
    password_hash: &str,
    must_change_password: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO users (email, name, password_hash, must_change_password) VALUES ($1, $2, $3, $4) RETURNING id",
        email,
        name,
        password_hash,
        must_change_password
    )
    .fetch_one(db)
    .await
}

pub async fn set_password(
    db: impl PgExecutor<'_>,
    id: i64,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, password_changed_at = now(), must_change_password = false WHERE id = $1",
        id,
        password_hash
    )
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn set_flags(
    db: impl PgExecutor<'_>,
    id: i64,
    is_support: bool,
    is_superadmin: bool,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE users SET is_support = $2, is_superadmin = $3 WHERE id = $1",
        id,
        is_support,
        is_superadmin
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn count_superadmins(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM users WHERE is_superadmin"#)
        .fetch_one(db)
        .await
}

pub async fn list(db: impl PgExecutor<'_>) -> Result<Vec<AdminUserRow>, sqlx::Error> {
    sqlx::query_as!(
        AdminUserRow,
        r#"SELECT u.id, u.email, u.name, u.is_support, u.is_superadmin,
                  (SELECT count(*) FROM memberships m WHERE m.user_id = u.id) AS "orgs!"
           FROM users u ORDER BY u.email"#
    )
    .fetch_all(db)
    .await
}
