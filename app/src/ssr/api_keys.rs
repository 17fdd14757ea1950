//! API keys: the pages' use cases (list, create, revoke), minted when created, checked on every
//! `/v1` request.
//!
//! A key is `phk_<public id>_<secret>`: the public id (12 hex digits) finds the row, the SHA-256 of
//! the whole key must match what was stored (compared in constant time). The secret is 256 random
//! bits, so a fast hash is as strong as a slow one here, and checking costs microseconds.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::guard::{self, OrgCtx, Permission};
use super::{db, format, AppState};
use crate::error::AppError;
use crate::model::api_keys::{ApiKeyRow, ApiKeysPage, NewKey, Scope};
use crate::model::{parse_name, Access, Role};

const PREFIX: &str = "phk_";
const PUBLIC_ID_LEN: usize = 12;
const SECRET_LEN: usize = 43;

/// Active keys an org may hold at once (each has its own request budget).
const MAX_LIVE_KEYS: i64 = 25;

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

pub enum KeyError {
    Refused(Refused),
    Failed(AppError),
}

impl From<AppError> for KeyError {
    fn from(e: AppError) -> Self {
        KeyError::Failed(e)
    }
}

impl From<sqlx::Error> for KeyError {
    fn from(e: sqlx::Error) -> Self {
        KeyError::Failed(e.into())
    }
}

/// Checks `key` (the bearer token, sent from `ip`) and returns who it acts for: a member of the
/// org, with the rights the org guard gives them.
pub async fn authenticate(
    state: &AppState,
    key: Option<&str>,
    ip: Option<String>,
) -> Result<ApiCaller, KeyError> {
    let key = key.ok_or(KeyError::Refused(Refused::Missing))?;
    let id = public_id(key).ok_or(KeyError::Refused(Refused::Malformed))?;
    let stored = db::api_keys::by_public_id(&state.pool, id)
        .await?
        .ok_or(KeyError::Refused(Refused::Invalid))?;
    let matches: bool = digest(key).ct_eq(stored.key_sha256.as_slice()).into();
    if !matches {
        return Err(KeyError::Refused(Refused::Invalid));
    }
    if stored.revoked {
        return Err(KeyError::Refused(Refused::Revoked));
    }
    // Checked before the org guard: a key never reaches the staff branch (which would record a
    // staff view in the name of someone who is not a member).
    if !stored.member {
        return Err(KeyError::Refused(Refused::MemberGone));
    }
    // A key made for someone else lives only while its maker could still make it.
    if !stored.creator_may {
        return Err(KeyError::Refused(Refused::CreatorGone));
    }
    let user = db::users::by_id(&state.pool, stored.acting_user_id)
        .await?
        .ok_or(KeyError::Refused(Refused::MemberGone))?;
    let ctx = match guard::check(state.clone(), user, &stored.org_slug, Permission::Read).await {
        Ok(ctx) => ctx,
        Err(AppError::NotFound) => return Err(KeyError::Refused(Refused::MemberGone)),
        Err(e) => return Err(e.into()),
    };
    // A key acts as a member; staff rights never come through a key.
    if !matches!(ctx.access, Access::Member(_)) {
        return Err(KeyError::Refused(Refused::MemberGone));
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

/// The org's API keys page: every key, and the members a new key may act as (for those who may
/// create keys). The org's owners, admins and staff only.
pub async fn page(ctx: &OrgCtx) -> Result<ApiKeysPage, AppError> {
    if !ctx.sees_all() {
        return Err(AppError::Forbidden(
            "Only the org's owners and admins manage API keys.".into(),
        ));
    }
    let pool = &ctx.state.pool;
    let members = if ctx.access.can_manage() {
        super::members::rows(pool, ctx.org_id).await?
    } else {
        Vec::new()
    };
    let keys = db::api_keys::list(pool, ctx.org_id).await?;
    Ok(ApiKeysPage {
        keys: keys.into_iter().map(key_row).collect(),
        members,
        me: ctx.user.id,
        org: ctx.view(),
    })
}

/// A key as the keys page shows it: its times as the pages write them.
fn key_row(k: db::api_keys::ListedKey) -> ApiKeyRow {
    ApiKeyRow {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scopes: k.scopes,
        acting_as: k.acting_as,
        created_by: k.created_by,
        created: format::utc_minute(k.created_at),
        last_used: k.last_used_at.map(format::utc_minute),
        revoked: k.revoked_at.map(format::utc_minute),
    }
}

/// A key as asked for: its name, the member it acts as (their user id as typed; the creator when
/// left out or empty) and which scopes are ticked, in `Scope::ALL`'s order.
pub struct KeyRequest<'a> {
    pub name: &'a str,
    pub acting_as: Option<&'a str>,
    pub ticked: [bool; Scope::ALL.len()],
}

/// Creates a key for the org (the caller passed the org guard for managing it), on the record.
/// The answer holds the key: the only time anyone sees it.
pub async fn create(ctx: &OrgCtx, req: KeyRequest<'_>) -> Result<NewKey, AppError> {
    ctx.must_manage()?;
    let name = parse_name("name", req.name, true)?;
    let scopes: Vec<String> = Scope::ALL
        .iter()
        .zip(req.ticked)
        .filter(|(_, on)| *on)
        .map(|(s, _)| s.as_str().to_string())
        .collect();
    if scopes.is_empty() {
        return Err(AppError::validation(
            "scopes",
            "Tick at least one thing the key may do.",
        ));
    }
    let acting: i64 = match req.acting_as.map(str::trim).filter(|s| !s.is_empty()) {
        None => ctx.user.id,
        Some(a) => a
            .parse()
            .map_err(|_| AppError::validation("acting_as", "Choose the member the key acts as."))?,
    };
    let pool = &ctx.state.pool;
    let Some(role) = db::orgs::role_of(pool, ctx.org_id, acting).await? else {
        return Err(AppError::validation(
            "acting_as",
            "Choose a member of this org.",
        ));
    };
    // A key never does more than its creator could: only owners make keys that act as an owner.
    if role == Role::Owner
        && !matches!(ctx.access, Access::Member(Role::Owner) | Access::Superadmin)
    {
        return Err(AppError::validation(
            "acting_as",
            "Only owners can create a key that acts as an owner.",
        ));
    }
    if db::api_keys::live_count(pool, ctx.org_id).await? >= MAX_LIVE_KEYS {
        return Err(AppError::Conflict(format!(
            "An org can have at most {MAX_LIVE_KEYS} active API keys: revoke one first."
        )));
    }
    let minted = mint();
    let mut tx = pool.begin().await?;
    let id = db::api_keys::create(
        &mut *tx,
        db::api_keys::NewKeyRow {
            org_id: ctx.org_id,
            public_id: &minted.public_id,
            key_sha256: &minted.sha256,
            name: &name,
            scopes: &scopes,
            acting_user_id: acting,
            created_by: ctx.user.id,
        },
    )
    .await?;
    ctx.audit(
        &mut *tx,
        "api_key.created",
        &format!("phk_{}", minted.public_id),
        serde_json::json!({ "name": name, "scopes": scopes, "acting_as": acting }),
    )
    .await?;
    tx.commit().await?;
    Ok(NewKey {
        id,
        name,
        key: minted.key,
    })
}

/// Revokes one of the org's live keys (the caller passed the org guard for managing it), on the
/// record; any other id is not found.
pub async fn revoke(ctx: &OrgCtx, id: i64) -> Result<(), AppError> {
    ctx.must_manage()?;
    let mut tx = ctx.state.pool.begin().await?;
    let Some(name) = db::api_keys::revoke(&mut *tx, ctx.org_id, id, ctx.user.id).await? else {
        return Err(AppError::NotFound);
    };
    ctx.audit(
        &mut *tx,
        "api_key.revoked",
        &id.to_string(),
        serde_json::json!({ "name": name }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
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
