//! Users, argon2id password hashing and the axum-login backend.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum_login::{AuthUser, AuthnBackend, UserId};
use sqlx::PgPool;

use super::db;
use crate::error::AppError;

#[derive(Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_support: bool,
    pub is_superadmin: bool,
    /// PHC string; never leaves the server, never printed.
    pub password_hash: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_support", &self.is_support)
            .field("is_superadmin", &self.is_superadmin)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}

impl AuthUser for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
    /// A password change alters the hash, which ends every other session of this user.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

#[derive(Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("password hashing task failed")]
    Task,
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Db(e) => e.into(),
            AuthError::Task => AppError::Internal,
        }
    }
}

#[derive(Clone)]
pub struct Backend {
    pool: PgPool,
    /// Users last read, for while the database cannot be reached (see `last_known`).
    users: super::last_known::Recall<i64, Option<User>>,
}

impl Backend {
    /// `known`: the same last-known answers as the app state's (see `last_known`).
    pub fn new(pool: PgPool, known: &super::last_known::LastKnown) -> Self {
        Backend {
            pool,
            users: known.users.clone(),
        }
    }
}

pub type AuthSession = axum_login::AuthSession<Backend>;

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19_456, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Verified against when the e-mail is unknown, so that costs the same as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("phonehub dummy password").unwrap_or_default());

fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Task)
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|_| AuthError::Task)?
}

pub async fn verify_password(password: String, phc: String) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
        .await
        .map_err(|_| AuthError::Task)
}

/// Computes the dummy hash up front so the first unknown-e-mail login is not faster or slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = AuthError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, AuthError> {
        let user = db::users::by_email(&self.pool, &creds.email).await?;
        let phc = match &user {
            Some(u) => u.password_hash.clone(),
            None => DUMMY_HASH.clone(),
        };
        let ok = verify_password(creds.password, phc).await?;
        Ok(user.filter(|_| ok))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, AuthError> {
        Ok(self
            .users
            .read(*id, db::users::by_id(&self.pool, *id))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_chosen_cost_and_verify() {
        let h = hash_blocking("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct horse battery", &h));
        assert!(!verify_blocking("wrong", &h));
        assert!(!verify_blocking("anything", "not a phc string"));
    }

    #[test]
    fn debug_never_prints_the_hash() {
        let u = User {
            id: 1,
            email: "a@b.test".into(),
            name: String::new(),
            is_support: false,
            is_superadmin: false,
            password_hash: "$argon2id$secret".into(),
        };
        let printed = format!("{u:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }
}
