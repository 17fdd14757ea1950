//! API keys: minted when created, checked on every `/v1` request.
//!
//! A key is `phk_<public id>_<secret>`: the public id (12 hex digits) finds the row, the SHA-256 of
//! the whole key must match what was stored (compared in constant time). The secret is 256 random
//! bits, so a fast hash is as strong as a slow one here, and checking costs microseconds.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::guard::{self, OrgCtx, Permission};
use super::{db, AppState};
use crate::error::AppError;
use crate::model::api_keys::Scope;
use crate::model::Access;

const PREFIX: &str = "phk_";
const PUBLIC_ID_LEN: usize = 12;
const SECRET_LEN: usize = 43;

pub struct Minted {
    pub public_id: String,
    pub key: String,
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Minted({PREFIX}{}_…)", self.public_id)
    }
}

pub fn mint() -> Minted {
    let mut rng = rand::rngs::OsRng;
    let public_id = format!("{:012x}", rng.next_u64() & 0xffff_ffff_ffff);
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let key = format!("{PREFIX}{public_id}_{secret}");
    let sha256 = digest(&key);
    Minted {
        public_id,
        key,
        sha256,
    }
}

pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The public id of a well-formed key; `None` for anything else (never looked up).
pub fn public_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == PUBLIC_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let secret_ok = secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then_some(id)
}

/// Why a request's key was refused (all 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Malformed,
    /// Unknown, or the secret does not match: the same answer, so keys cannot be probed.
    Invalid,
    Revoked,
    /// The member the key acts as has left the org.
    MemberGone,
    /// Whoever made the key no longer manages the org.
    CreatorGone,
}

impl Refused {
    pub fn detail(self) -> &'static str {
        match self {
            Refused::Missing => "Send your API key as `Authorization: Bearer phk_…`.",
            Refused::Malformed => {
                "That is not a PhoneHub API key (they look like phk_<12 hex digits>_<secret>)."
            }
            Refused::Invalid => "This API key is not valid.",
            Refused::Revoked => "This API key has been revoked.",
            Refused::MemberGone => "The member this API key acts as no longer belongs to the org.",
            Refused::CreatorGone => "Whoever created this API key no longer manages the org; ask an owner or admin for a new key.",
        }
    }
}

/// The caller behind a valid key: the org context of the member it acts as, and its scopes.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub key_id: i64,
    pub scopes: Vec<Scope>,
    pub ctx: OrgCtx,
}

impl ApiCaller {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

pub enum AuthError {
    Refused(Refused),
    Failed(AppError),
}

impl From<AppError> for AuthError {
    fn from(e: AppError) -> Self {
        AuthError::Failed(e)
    }
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Failed(e.into())
    }
}

/// Checks `key` (the bearer token, sent from `ip`) and returns who it acts for: a member of the
/// org, with the rights the org guard gives them.
pub async fn authenticate(
    state: &AppState,
    key: Option<&str>,
    ip: Option<String>,
) -> Result<ApiCaller, AuthError> {
    let key = key.ok_or(AuthError::Refused(Refused::Missing))?;
    let id = public_id(key).ok_or(AuthError::Refused(Refused::Malformed))?;
    let stored = db::api_keys::by_public_id(&state.pool, id)
        .await?
        .ok_or(AuthError::Refused(Refused::Invalid))?;
    let matches: bool = digest(key).ct_eq(stored.key_sha256.as_slice()).into();
    if !matches {
        return Err(AuthError::Refused(Refused::Invalid));
    }
    if stored.revoked {
        return Err(AuthError::Refused(Refused::Revoked));
    }
    // Checked before the org guard: a key never reaches the staff branch (which would record a
    // staff view in the name of someone who is not a member).
    if !stored.member {
        return Err(AuthError::Refused(Refused::MemberGone));
    }
    // A key made for someone else lives only while its maker could still make it.
    if !stored.creator_may {
        return Err(AuthError::Refused(Refused::CreatorGone));
    }
    let user = db::users::by_id(&state.pool, stored.acting_user_id)
        .await?
        .ok_or(AuthError::Refused(Refused::MemberGone))?;
    let ctx = match guard::check(state.clone(), user, &stored.org_slug, Permission::Read).await {
        Ok(ctx) => ctx,
        Err(AppError::NotFound) => return Err(AuthError::Refused(Refused::MemberGone)),
        Err(e) => return Err(e.into()),
    };
    // A key acts as a member; staff rights never come through a key.
    if !matches!(ctx.access, Access::Member(_)) {
        return Err(AuthError::Refused(Refused::MemberGone));
    }
    db::api_keys::touch(&state.pool, stored.id).await?;
    Ok(ApiCaller {
        key_id: stored.id,
        scopes: stored
            .scopes
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
        ctx: ctx.through_key(stored.id, ip),
    })
}

pub use super::db::api_keys::Stored as KeptAnswer;

/// The answer kept for key `key_id`'s earlier request with `idempotency_key`, if any.
pub async fn kept_answer(
    pool: &sqlx::PgPool,
    key_id: i64,
    idempotency_key: &str,
) -> Result<Option<KeptAnswer>, sqlx::Error> {
    db::api_keys::idempotent_answer(pool, key_id, idempotency_key).await
}

/// Keeps the answer to key `key_id`'s request with `idempotency_key` (whose body hashes to
/// `request_sha256`); false when a concurrent request kept one first.
pub async fn keep_answer(
    pool: &sqlx::PgPool,
    key_id: i64,
    idempotency_key: &str,
    request_sha256: &[u8],
    status: i16,
    body: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    db::api_keys::keep_answer(pool, key_id, idempotency_key, request_sha256, status, body).await
}

/// The public ids of every live key (the API's rate limiter keeps them in memory).
pub async fn live_public_ids(pool: &sqlx::PgPool) -> Result<Vec<String>, sqlx::Error> {
    db::api_keys::live_public_ids(pool).await
}

/// Whether the key with this public id exists and is not revoked.
pub async fn is_live(pool: &sqlx::PgPool, public_id: &str) -> Result<bool, sqlx::Error> {
    db::api_keys::is_live(pool, public_id).await
}

/// Marks this API server alive; how many are alive, itself included.
pub async fn server_alive(pool: &sqlx::PgPool, id: &str) -> Result<i64, sqlx::Error> {
    db::api_keys::server_alive(pool, id).await
}

/// This API server is stopping.
pub async fn server_gone(pool: &sqlx::PgPool, id: &str) -> Result<(), sqlx::Error> {
    db::api_keys::server_gone(pool, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_key_parses_back_to_its_public_id_and_nothing_else_does() {
        let m = mint();
        assert_eq!(public_id(&m.key), Some(m.public_id.as_str()));
        assert_eq!(digest(&m.key), m.sha256);
        assert!(
            !format!("{m:?}").contains(&m.key[20..]),
            "Debug hides the secret"
        );
        for bad in [
            "",
            "phk_",
            "Bearer x",
            &m.key[..m.key.len() - 1],
            &format!("{}x", m.key),
            &m.key.replace("phk_", "pk_"),
            &format!("phk_{}_{}", "ABCDEF012345", &m.key[17..]),
            &format!("phk_{}_{}", "0123456789ab", "!".repeat(43)),
        ] {
            assert_eq!(public_id(bad), None, "{bad}");
        }
    }
}
