//! Phone configurations: one per org and the system default (org_id NULL).

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::model::phone_config::ProviderKind;
use crate::ssr::crypto::{Keyring, Sealed};

#[derive(Clone)]
pub struct ConfigRow {
    pub id: i64,
    pub org_id: Option<i64>,
    pub provider: ProviderKind,
    pub display_name: String,
    pub active: bool,
    pub lookup_enabled: bool,
    pub lookup_cache_days: i32,
    pub caller_name_enabled: bool,
    pub test_mode: bool,
    pub default_sender: Option<String>,
    pub api_base: Option<String>,
    pub lookups_base: Option<String>,
    pub region: Option<String>,
    pub credential_id: String,
    pub token_ciphertext: Option<Vec<u8>>,
    pub token_nonce: Option<Vec<u8>>,
    pub token_key_id: Option<String>,
    pub token_tail: Option<String>,
    /// Where the stored token was saved to be sent (`token_scope`); it is sent nowhere else.
    pub token_scope: Option<String>,
    pub version: i64,
    pub updated_at: OffsetDateTime,
    /// AWS only: the SNS sender ID and SMS type.
    pub sms_sender_id: Option<String>,
    pub sms_type: Option<String>,
}

impl std::fmt::Debug for ConfigRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigRow")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("provider", &self.provider)
            .field("region", &self.region)
            .field("credential_id", &self.credential_id)
            .field("token", &self.token_key_id.as_ref().map(|_| "[encrypted]"))
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ConfigRow {
    pub fn sealed_token(&self) -> Option<Sealed> {
        match (
            &self.token_ciphertext,
            &self.token_nonce,
            &self.token_key_id,
        ) {
            (Some(c), Some(n), Some(k)) => Some(Sealed {
                key_id: k.clone(),
                nonce: n.clone(),
                ciphertext: c.clone(),
            }),
            _ => None,
        }
    }
}

/// The fields an edit form sets (the token separately, only when replaced).
#[derive(Debug, Clone)]
pub struct ConfigInput {
    pub provider: ProviderKind,
    pub display_name: String,
    pub active: bool,
    pub lookup_enabled: bool,
    pub lookup_cache_days: i32,
    pub caller_name_enabled: bool,
    pub test_mode: bool,
    pub default_sender: Option<String>,
    pub api_base: Option<String>,
    pub lookups_base: Option<String>,
    pub region: Option<String>,
    pub credential_id: String,
    pub sms_sender_id: Option<String>,
    pub sms_type: Option<String>,
}

impl ConfigInput {
    /// Where a token saved with these fields may be sent.
    pub fn token_scope(&self) -> String {
        token_scope(
            self.provider,
            self.region.as_deref(),
            &self.credential_id,
            self.api_base.as_deref(),
            self.lookups_base.as_deref(),
        )
    }
}

impl ConfigRow {
    /// Where a token would be sent with this row's fields now.
    pub fn destination_scope(&self) -> String {
        token_scope(
            self.provider,
            self.region.as_deref(),
            &self.credential_id,
            self.api_base.as_deref(),
            self.lookups_base.as_deref(),
        )
    }

    /// Whether the stored token was saved for where this row points now.
    pub fn token_matches_destination(&self) -> bool {
        self.token_scope.as_deref() == Some(self.destination_scope().as_str())
    }
}

/// Everything that decides where a credential goes, as one string (the migration that added
/// `token_scope` computes the same formula in SQL).
pub fn token_scope(
    provider: ProviderKind,
    region: Option<&str>,
    credential_id: &str,
    api_base: Option<&str>,
    lookups_base: Option<&str>,
) -> String {
    format!(
        "{provider}|{}|{credential_id}|{}|{}",
        region.unwrap_or(""),
        api_base.unwrap_or(""),
        lookups_base.unwrap_or("")
    )
}

/// `org_id` None: the system default.
pub async fn get(
    db: impl PgExecutor<'_>,
    org_id: Option<i64>,
) -> Result<Option<ConfigRow>, sqlx::Error> {
    sqlx::query_as!(
        ConfigRow,
        r#"SELECT id, org_id, provider AS "provider: ProviderKind", display_name, active, lookup_enabled, lookup_cache_days,
                  caller_name_enabled, test_mode, default_sender, api_base, lookups_base, region, credential_id,
                  token_ciphertext, token_nonce, token_key_id, token_tail, token_scope, version,
                  updated_at,
                  sms_sender_id, sms_type
           FROM phone_configs WHERE org_id IS NOT DISTINCT FROM $1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

/// One configuration by id (the one a number was bought with, whose token signs its webhooks).
pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> Result<Option<ConfigRow>, sqlx::Error> {
    sqlx::query_as!(
        ConfigRow,
        r#"SELECT id, org_id, provider AS "provider: ProviderKind", display_name, active, lookup_enabled, lookup_cache_days,
                  caller_name_enabled, test_mode, default_sender, api_base, lookups_base, region, credential_id,
                  token_ciphertext, token_nonce, token_key_id, token_tail, token_scope, version,
                  updated_at,
                  sms_sender_id, sms_type
           FROM phone_configs WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// The org's own configuration if active, else the active system default. An AWS configuration
/// is active only once a connection test succeeded for where its key is sent now
/// (`verified_scope`, see `mark_verified`).
pub async fn effective(
    db: impl PgExecutor<'_>,
    org_id: i64,
) -> Result<Option<ConfigRow>, sqlx::Error> {
    sqlx::query_as!(
        ConfigRow,
        r#"SELECT id, org_id, provider AS "provider: ProviderKind", display_name, active, lookup_enabled, lookup_cache_days,
                  caller_name_enabled, test_mode, default_sender, api_base, lookups_base, region, credential_id,
                  token_ciphertext, token_nonce, token_key_id, token_tail, token_scope, version,
                  updated_at,
                  sms_sender_id, sms_type
           FROM phone_configs
           WHERE (org_id = $1 OR org_id IS NULL) AND active
             AND (provider <> 'aws' OR verified_scope = token_scope)
           ORDER BY org_id NULLS LAST LIMIT 1"#,
        org_id
    )
    .fetch_optional(db)
    .await
}

/// Records a successful connection test of configuration `id` as it was at `version`: an AWS
/// configuration is used from then on. False when it changed since (or was tested already).
pub async fn mark_verified(
    db: impl PgExecutor<'_>,
    id: i64,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE phone_configs SET verified_scope = token_scope
         WHERE id = $1 AND version = $2 AND token_scope IS NOT NULL
           AND verified_scope IS DISTINCT FROM token_scope",
        id,
        version
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Forgets the last successful connection test (a new key was saved): an AWS configuration is
/// not used again until a test succeeds.
pub async fn clear_verified(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE phone_configs SET verified_scope = NULL WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Creates or updates the configuration; `token` replaces the stored one when given.
/// Returns the config id.
pub async fn save(
    db: impl PgExecutor<'_>,
    org_id: Option<i64>,
    input: &ConfigInput,
    token: Option<(&Sealed, &str)>,
) -> Result<i64, sqlx::Error> {
    let (ct, nonce, kid, tail) = match token {
        Some((s, tail)) => (
            Some(s.ciphertext.clone()),
            Some(s.nonce.clone()),
            Some(s.key_id.clone()),
            Some(tail.to_string()),
        ),
        None => (None, None, None, None),
    };
    let replace = token.is_some();
    let scope = input.token_scope();
    // The two partial unique indexes cannot be an ON CONFLICT target together, so: update, else insert.
    let id = sqlx::query_scalar!(
        r#"WITH upd AS (
               UPDATE phone_configs SET provider = $2, display_name = $3, active = $4,
                   lookup_enabled = $5, lookup_cache_days = $6, caller_name_enabled = $7,
                   test_mode = $8, default_sender = $9, api_base = $10, lookups_base = $11,
                   credential_id = $12, region = $18, sms_sender_id = $20, sms_type = $21,
                   token_scope = CASE WHEN $13 THEN $19 ELSE token_scope END,
                   token_ciphertext = CASE WHEN $13 THEN $14 ELSE token_ciphertext END,
                   token_nonce = CASE WHEN $13 THEN $15 ELSE token_nonce END,
                   token_key_id = CASE WHEN $13 THEN $16 ELSE token_key_id END,
                   token_tail = CASE WHEN $13 THEN $17 ELSE token_tail END,
                   version = version + 1, updated_at = now()
               WHERE org_id IS NOT DISTINCT FROM $1
               RETURNING id),
           ins AS (
               INSERT INTO phone_configs (org_id, provider, display_name, active, lookup_enabled,
                   lookup_cache_days, caller_name_enabled, test_mode, default_sender, api_base,
                   lookups_base, credential_id, token_ciphertext, token_nonce, token_key_id, token_tail,
                   region, token_scope, sms_sender_id, sms_type)
               SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $16, $17, $18,
                   CASE WHEN $13 THEN $19 END, $20, $21
               WHERE NOT EXISTS (SELECT 1 FROM upd)
               RETURNING id)
           SELECT id AS "id!" FROM upd UNION ALL SELECT id FROM ins"#,
        org_id,
        input.provider as ProviderKind,
        input.display_name,
        input.active,
        input.lookup_enabled,
        input.lookup_cache_days,
        input.caller_name_enabled,
        input.test_mode,
        input.default_sender,
        input.api_base,
        input.lookups_base,
        input.credential_id,
        replace,
        ct,
        nonce,
        kid,
        tail,
        input.region,
        scope,
        input.sms_sender_id,
        input.sms_type,
    )
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// Re-encrypts every token not under the keyring's current key. Returns how many changed.
pub async fn rotate(pool: &sqlx::PgPool, keyring: &Keyring) -> Result<usize, RotateError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        r#"SELECT id, token_ciphertext AS "ct!", token_nonce AS "nonce!", token_key_id AS "kid!"
           FROM phone_configs
           WHERE token_key_id IS NOT NULL AND token_key_id <> $1
           FOR UPDATE"#,
        keyring.current_id()
    )
    .fetch_all(&mut *tx)
    .await?;
    let n = rows.len();
    for r in rows {
        let plain = keyring.decrypt(&Sealed {
            key_id: r.kid,
            nonce: r.nonce,
            ciphertext: r.ct,
        })?;
        let s = keyring.encrypt(&plain)?;
        sqlx::query!(
            "UPDATE phone_configs SET token_ciphertext = $2, token_nonce = $3, token_key_id = $4
             WHERE id = $1",
            r.id,
            s.ciphertext,
            s.nonce,
            s.key_id
        )
        .execute(&mut *tx)
        .await?;
    }
    let keys = sqlx::query!(
        r#"SELECT id, secret_ciphertext, secret_nonce, secret_key_id
           FROM webhook_signing_keys WHERE secret_key_id <> $1 FOR UPDATE"#,
        keyring.current_id()
    )
    .fetch_all(&mut *tx)
    .await?;
    let n = n + keys.len();
    for k in keys {
        let plain = keyring.decrypt(&Sealed {
            key_id: k.secret_key_id,
            nonce: k.secret_nonce,
            ciphertext: k.secret_ciphertext,
        })?;
        let s = keyring.encrypt(&plain)?;
        sqlx::query!(
            "UPDATE webhook_signing_keys SET secret_ciphertext = $2, secret_nonce = $3,
                 secret_key_id = $4
             WHERE id = $1",
            k.id,
            s.ciphertext,
            s.nonce,
            s.key_id
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// A key Twilio may sign a configuration's webhooks with (its secret sealed).
pub struct SigningKeyRow {
    pub id: i64,
    pub key_id: String,
    pub secret: Sealed,
    pub secret_tail: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("id", &self.id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The configuration's signing keys, oldest first.
pub async fn signing_keys(
    db: impl PgExecutor<'_>,
    config_id: i64,
) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, key_id, secret_ciphertext, secret_nonce, secret_key_id, secret_tail,
                  created_at, last_used_at
           FROM webhook_signing_keys WHERE config_id = $1 ORDER BY id"#,
        config_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SigningKeyRow {
            id: r.id,
            key_id: r.key_id,
            secret: Sealed {
                key_id: r.secret_key_id,
                nonce: r.secret_nonce,
                ciphertext: r.secret_ciphertext,
            },
            secret_tail: r.secret_tail,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
        .collect())
}

/// Adds a signing key unless the configuration already holds `max` keys or one with this id.
pub async fn add_signing_key(
    db: impl PgExecutor<'_>,
    config_id: i64,
    key_id: &str,
    secret: &Sealed,
    tail: &str,
    created_by: i64,
    max: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO webhook_signing_keys (config_id, key_id, secret_ciphertext, secret_nonce,
               secret_key_id, secret_tail, created_by)
           SELECT $1, $2, $3, $4, $5, $6, $7
           WHERE (SELECT count(*) FROM webhook_signing_keys WHERE config_id = $1) < $8
           ON CONFLICT (config_id, key_id) DO NOTHING
           RETURNING id"#,
        config_id,
        key_id,
        secret.ciphertext,
        secret.nonce,
        secret.key_id,
        tail,
        created_by,
        max
    )
    .fetch_optional(db)
    .await
}

/// Removes one of the configuration's signing keys; its id, when there was one.
pub async fn remove_signing_key(
    db: impl PgExecutor<'_>,
    config_id: i64,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "DELETE FROM webhook_signing_keys WHERE config_id = $1 AND id = $2 RETURNING key_id",
        config_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Locks the configuration row until the transaction ends (changes to its signing keys are
/// serialised: the limit and the duplicate check cannot race).
pub async fn lock(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT id FROM phone_configs WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(db)
        .await?;
    Ok(())
}

/// Removes every signing key of a configuration (its Twilio account changed); how many.
pub async fn remove_signing_keys(
    db: impl PgExecutor<'_>,
    config_id: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM webhook_signing_keys WHERE config_id = $1",
        config_id
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// How many numbers bought with this configuration are still held (active or releasing).
pub async fn held_numbers(db: impl PgExecutor<'_>, config_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM owned_numbers
           WHERE config_id = $1 AND status IN ('active', 'releasing')"#,
        config_id
    )
    .fetch_one(db)
    .await
}

/// Notes that a key signed a webhook (at most once a minute per key).
pub async fn touch_signing_key(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE webhook_signing_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Crypto(#[from] crate::ssr::crypto::CryptoError),
}
