//! Provider clients: built from a phone configuration (the destination chosen by region, never by
//! the tenant), cached per configuration version; each org's effective configuration. The client
//! for an org or for the configuration a number or call was made with is in `org_provider`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use telephony::{AwsClient, AwsConfig, Provider, TwilioClient, TwilioConfig};

use super::crypto::Keyring;
use super::db::phone_config::ConfigRow;
use super::errors::BuildError;
use crate::model::phone_config::ProviderKind;

/// The effective configuration and the prices, as one lookup needs them.
#[derive(Clone)]
pub struct Effective {
    pub config: Option<ConfigRow>,
    pub base_price: i64,
    pub caller_name_price: i64,
}

async fn load_effective(pool: &PgPool, org_id: i64) -> Result<Effective, sqlx::Error> {
    let config = super::db::phone_config::effective(pool, org_id).await?;
    let prices = super::db::lookups::lookup_prices(pool).await?;
    // Amazon Pinpoint has one price per validation (and no caller names).
    let aws = config
        .as_ref()
        .is_some_and(|c| c.provider == ProviderKind::Aws);
    Ok(Effective {
        config,
        base_price: if aws {
            prices.aws_validate
        } else {
            prices.line_type
        },
        caller_name_price: prices.caller_name,
    })
}

/// How long a process reuses an org's effective configuration before reading it again. A change
/// saved in this process applies at once (`Providers::forget_configs`); other processes see it
/// within this time.
const CONFIG_TTL: Duration = Duration::from_secs(2);
/// How long the last configuration read may answer from memory (`last_known`) while the database
/// cannot be read.
const STALE_LIMIT: Duration = Duration::from_secs(15 * 60);

/// An org's effective configuration, when it was read, and when reading it again last failed
/// (within CONFIG_TTL of a failure nobody waits on the database for it again).
#[derive(Clone)]
struct TimedEffective {
    read_at: Instant,
    failed_at: Option<Instant>,
    effective: Arc<Effective>,
}

/// A client and the configuration version it was built from.
type VersionedClient = (i64, Arc<dyn Provider>);

/// Provider clients built from configurations, reused while the configuration is unchanged, and
/// each org's effective configuration for a short while.
#[derive(Clone, Default)]
pub struct Providers {
    inner: Arc<Mutex<HashMap<i64, VersionedClient>>>,
    effective: Arc<Mutex<HashMap<i64, TimedEffective>>>,
    /// The provider request timeout (None: the client's default, 10 s).
    timeout: Option<Duration>,
    /// Development only: providers on loopback and private networks (the sandbox) may be reached.
    allow_private_networks: bool,
    /// Where the development sandbox is when not mounted in this server (`PHONEHUB_SANDBOX_URL`,
    /// a system setting: several servers sharing one sandbox).
    sandbox_url: Option<String>,
    /// Development only: where AWS configurations send SNS and Pinpoint requests instead of the
    /// sandbox's AWS endpoints (`PHONEHUB_AWS_SNS_URL`, `PHONEHUB_AWS_PINPOINT_URL`: an
    /// AWS-compatible mock such as moto).
    aws: AwsEndpoints,
}

/// Development endpoints for AWS's services (a mock such as moto); `None`: the sandbox's.
#[derive(Debug, Clone, Default)]
pub struct AwsEndpoints {
    pub sns: Option<String>,
    pub pinpoint: Option<String>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Providers")
    }
}

impl Providers {
    pub fn new(
        timeout: Option<Duration>,
        allow_private_networks: bool,
        sandbox_url: Option<String>,
        aws: AwsEndpoints,
    ) -> Providers {
        Providers {
            timeout,
            allow_private_networks,
            sandbox_url,
            aws,
            ..Providers::default()
        }
    }

    /// The development sandbox's root: the configured one, else the one mounted in this server.
    pub fn sandbox_root(&self, public_url: &url::Url) -> String {
        match &self.sandbox_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!(
                "{}/sandbox/twilio",
                public_url.as_str().trim_end_matches('/')
            ),
        }
    }

    /// A client for `cfg`, not cached (for the connection test).
    pub fn build(
        &self,
        cfg: &ConfigRow,
        keyring: &Keyring,
        public_url: &url::Url,
    ) -> Result<Arc<dyn Provider>, BuildError> {
        build_provider(cfg, keyring, public_url, self)
    }

    /// The org's configuration, read at most CONFIG_TTL ago. While the database fails, one
    /// request per CONFIG_TTL tries it; the others fail at once instead of waiting on it too.
    pub async fn effective(
        &self,
        pool: &PgPool,
        org_id: i64,
    ) -> Result<Arc<Effective>, sqlx::Error> {
        let held = self
            .effective
            .lock()
            .ok()
            .and_then(|map| map.get(&org_id).cloned());
        if let Some(h) = &held {
            if h.read_at.elapsed() < CONFIG_TTL {
                return Ok(h.effective.clone());
            }
            if h.failed_at.is_some_and(|f| f.elapsed() < CONFIG_TTL) {
                return Err(sqlx::Error::PoolTimedOut);
            }
        }
        match load_effective(pool, org_id).await {
            Ok(e) => {
                let e = Arc::new(e);
                self.hold(
                    org_id,
                    TimedEffective {
                        read_at: Instant::now(),
                        failed_at: None,
                        effective: e.clone(),
                    },
                );
                Ok(e)
            }
            Err(err) => {
                if let Some(h) = held {
                    self.hold(
                        org_id,
                        TimedEffective {
                            failed_at: Some(Instant::now()),
                            ..h
                        },
                    );
                }
                Err(err)
            }
        }
    }

    fn hold(&self, org_id: i64, e: TimedEffective) {
        if let Ok(mut map) = self.effective.lock() {
            map.insert(org_id, e);
        }
    }

    /// The configuration last read, up to STALE_LIMIT ago, for when the database cannot be read:
    /// enough to answer a lookup from the hot cache, never to pay for one.
    pub fn last_known(&self, org_id: i64) -> Option<Arc<Effective>> {
        let map = self.effective.lock().ok()?;
        let h = map.get(&org_id)?;
        (h.read_at.elapsed() < STALE_LIMIT).then(|| h.effective.clone())
    }

    /// After a configuration changes: the next lookup of every org reads it again.
    pub fn forget_configs(&self) {
        if let Ok(mut map) = self.effective.lock() {
            map.clear();
        }
    }

    /// A client for `cfg` (cached by config id and version).
    pub fn for_config(
        &self,
        cfg: &ConfigRow,
        keyring: &Keyring,
        public_url: &url::Url,
    ) -> Result<Arc<dyn Provider>, BuildError> {
        if let Ok(map) = self.inner.lock() {
            if let Some((v, p)) = map.get(&cfg.id) {
                if *v == cfg.version {
                    return Ok(p.clone());
                }
            }
        }
        let p = build_provider(cfg, keyring, public_url, self)?;
        if let Ok(mut map) = self.inner.lock() {
            map.insert(cfg.id, (cfg.version, p.clone()));
        }
        Ok(p)
    }
}

pub fn build_provider(
    cfg: &ConfigRow,
    keyring: &Keyring,
    public_url: &url::Url,
    opts: &Providers,
) -> Result<Arc<dyn Provider>, BuildError> {
    let sealed = cfg.sealed_token().ok_or(BuildError::NoToken)?;
    if !cfg.token_matches_destination() {
        return Err(BuildError::TokenElsewhere);
    }
    match cfg.provider {
        ProviderKind::Sandbox if !opts.allow_private_networks => return Err(BuildError::NoSandbox),
        ProviderKind::Aws => return build_aws(cfg, keyring, &sealed, public_url, opts),
        ProviderKind::Twilio | ProviderKind::Sandbox => {}
    }
    let (api, lookups) = bases(cfg, &opts.sandbox_root(public_url))?;
    let token = keyring
        .decrypt(&sealed)
        .map_err(|e| BuildError::Unreadable(e.to_string()))?;
    let mut tc = TwilioConfig::new(&cfg.credential_id, &token);
    if let Some(t) = opts.timeout {
        tc.timeout = t;
    }
    tc.allow_private_networks = opts.allow_private_networks;
    tc.api_base = api;
    tc.lookups_base = lookups;
    let client = TwilioClient::new(tc).map_err(|e| BuildError::Invalid(e.to_string()))?;
    Ok(Arc::new(client))
}

/// An AWS client: SNS and Pinpoint in the configuration's region. Development servers send its
/// requests to the sandbox's AWS endpoints (or the mock named in the settings), never to AWS.
fn build_aws(
    cfg: &ConfigRow,
    keyring: &Keyring,
    sealed: &super::crypto::Sealed,
    public_url: &url::Url,
    opts: &Providers,
) -> Result<Arc<dyn Provider>, BuildError> {
    let region = cfg
        .region
        .as_deref()
        .filter(|r| telephony::aws::valid_region(r))
        .ok_or_else(|| BuildError::Invalid("no valid AWS region".into()))?;
    let secret = keyring
        .decrypt(sealed)
        .map_err(|e| BuildError::Unreadable(e.to_string()))?;
    let mut ac = AwsConfig::new(region, &cfg.credential_id, &secret);
    if opts.allow_private_networks {
        let root = opts.sandbox_root(public_url);
        ac.sns_base = opts
            .aws
            .sns
            .clone()
            .unwrap_or_else(|| format!("{root}/aws/sns"));
        ac.pinpoint_base = opts
            .aws
            .pinpoint
            .clone()
            .unwrap_or_else(|| format!("{root}/aws/pinpoint"));
    } else if cfg.org_id.is_none() {
        // The system default's own base URLs (set by the superadmin, for a proxy).
        if let Some(b) = &cfg.api_base {
            ac.sns_base = b.clone();
        }
        if let Some(b) = &cfg.lookups_base {
            ac.pinpoint_base = b.clone();
        }
    }
    if let Some(t) = opts.timeout {
        ac.timeout = t;
    }
    ac.allow_private_networks = opts.allow_private_networks;
    ac.sender_id = cfg.sms_sender_id.clone();
    ac.sms_type = cfg.sms_type.clone();
    ac.origination_number = cfg.default_sender.clone();
    let client = AwsClient::new(ac).map_err(|e| BuildError::Invalid(e.to_string()))?;
    Ok(Arc::new(client))
}

/// Where a configuration's requests go: the development sandbox (the server's own setting), the system default's
/// own base URLs (set by the superadmin, for a proxy), or Twilio's hosts for the chosen region.
/// An org's row never carries base URLs (a database constraint), so no tenant chooses a host.
pub fn bases(cfg: &ConfigRow, sandbox_root: &str) -> Result<(String, String), BuildError> {
    if cfg.provider.is_sandbox() {
        return Ok((
            format!("{sandbox_root}/api"),
            format!("{sandbox_root}/lookups"),
        ));
    }
    let region = crate::model::phone_config::TwilioRegion::from_code(cfg.region.as_deref())
        .ok_or_else(|| BuildError::Invalid("unknown region".into()))?;
    let (api, lookups) = region.bases();
    let system = cfg.org_id.is_none();
    let pick = |own: &Option<String>, official: &str| match own {
        Some(b) if system => b.clone(),
        _ => official.to_string(),
    };
    Ok((pick(&cfg.api_base, api), pick(&cfg.lookups_base, lookups)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::phone_config::Capability;
    use crate::ssr::crypto::Key;

    /// A configuration of `kind` with a sealed credential, as the database would hold it.
    fn row(kind: ProviderKind, keyring: &Keyring) -> ConfigRow {
        let (credential_id, secret, region) = match kind {
            ProviderKind::Aws => (
                "AKIASANDBOX000000001",
                "sandboxSecretAccessKey/000000000000000",
                Some("us-east-1".to_string()),
            ),
            _ => (
                "AC00000000000000000000000000000001",
                "sandbox-auth-token-0001",
                None,
            ),
        };
        let sealed = keyring.encrypt(secret).unwrap();
        let mut row = ConfigRow {
            id: 1,
            org_id: None,
            provider: kind,
            display_name: "test".into(),
            active: true,
            lookup_enabled: true,
            lookup_cache_days: 30,
            caller_name_enabled: false,
            test_mode: false,
            default_sender: None,
            api_base: None,
            lookups_base: None,
            region,
            credential_id: credential_id.into(),
            token_ciphertext: Some(sealed.ciphertext),
            token_nonce: Some(sealed.nonce),
            token_key_id: Some(sealed.key_id),
            token_tail: None,
            token_scope: None,
            version: 1,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
            sms_sender_id: None,
            sms_type: None,
        };
        row.token_scope = Some(row.destination_scope());
        row
    }

    /// What pages offer (`ProviderKind::can`) is what the client built for that kind implements:
    /// an action the page offers never meets "unsupported", and none it hides would have worked.
    #[test]
    fn each_kind_can_exactly_what_its_client_implements() {
        let keyring = Keyring::new(vec![Key::new("k1", &[7u8; 32]).unwrap()]).unwrap();
        let opts = Providers {
            allow_private_networks: true,
            ..Default::default()
        };
        let url = url::Url::parse("http://127.0.0.1:3000").unwrap();
        for kind in ProviderKind::ALL {
            let client = build_provider(&row(kind, &keyring), &keyring, &url, &opts).unwrap();
            for what in Capability::ALL {
                let implemented = match what {
                    Capability::Lookups => client.lookups().is_ok(),
                    Capability::Numbers => client.numbers().is_ok(),
                    Capability::Voice => client.voice().is_ok(),
                    Capability::Messaging => client.messaging().is_ok(),
                };
                assert_eq!(implemented, kind.can(what), "{kind}: {what:?}");
            }
        }
        // AWS is SMS and lookups only.
        assert!(!ProviderKind::Aws.can(Capability::Voice));
        assert!(ProviderKind::Aws.can(Capability::Messaging));
    }
}
