//! Configuration in layers: built-in defaults, then an optional TOML file, then `PHONEHUB_*` variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::ssr::crypto::Keyring;

use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// The key that signs session cookies (and, later, encrypts credentials). Never printed.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// 64 fresh random bytes (tests; production keys come from the environment or the key file).
    pub fn generate() -> SecretKey {
        let mut bytes = vec![0u8; 64];
        rand::Rng::fill(&mut rand::rngs::OsRng, &mut bytes[..]);
        SecretKey(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[derive(Clone)]
pub struct Settings {
    pub environment: Environment,
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub public_url: url::Url,
    pub data_dir: PathBuf,
    pub secret_key: SecretKey,
    /// Keys for provider credentials at rest (`PHONEHUB_CONFIG_KEYS`), current key first.
    pub keyring: Arc<Keyring>,
    pub seed_demo: bool,
    pub site_root: String,
    /// `PHONEHUB_METRICS_ADDR`: where `/metrics` is served (not the public address); none if unset.
    pub metrics_addr: Option<SocketAddr>,
    pub output_name: String,
    pub db_max_connections: u32,
    /// `PHONEHUB_PROVIDER_TIMEOUT_MS`: how long a provider request may take (default 10 s).
    pub provider_timeout: Option<std::time::Duration>,
    /// Serve the Twilio sandbox at /sandbox/twilio (default: on in development, off in production).
    pub sandbox_enabled: bool,
    /// `PHONEHUB_API_REQUESTS_PER_MINUTE`: each API key's budget per server process (default 600).
    pub api_requests_per_minute: u32,
    /// Bulk-job heartbeat and takeover times (the defaults; tests shorten them).
    pub job_timing: app::ssr::bulk_lookups::JobTiming,
    /// `PHONEHUB_TRUST_PROXY`: behind a reverse proxy (client address from `X-Forwarded-For`).
    pub trust_proxy: bool,
    /// `PHONEHUB_SANDBOX_URL`: a development sandbox elsewhere (shared by several servers);
    /// `None`: the one this server mounts.
    pub sandbox_url: Option<url::Url>,
    /// `PHONEHUB_AWS_SNS_URL`, `PHONEHUB_AWS_PINPOINT_URL` (development only): an AWS-compatible
    /// mock (moto) for AWS configurations; unset, they use the sandbox's AWS endpoints.
    pub aws_endpoints: app::ssr::providers::AwsEndpoints,
    /// Twilio credentials and base URLs; `None` with the sandbox on means "use the sandbox".
    pub twilio: Option<TwilioSettings>,
    /// `PHONEHUB_SMTP_URL` and `PHONEHUB_MAIL_FROM`: where e-mail alerts go out; `None`: off.
    pub mailer: Option<app::ssr::mailer::Mailer>,
}

/// Twilio credentials from the environment (`ssr::phone_config` makes the system default from them).
pub use app::ssr::system_config::TwilioSettings;

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("database_url", &redact_url(&self.database_url))
            .field("site_addr", &self.site_addr)
            .field("public_url", &self.public_url.as_str())
            .field("data_dir", &self.data_dir)
            .field("secret_key", &self.secret_key)
            .field("keyring", &self.keyring)
            .field("seed_demo", &self.seed_demo)
            .field("db_max_connections", &self.db_max_connections)
            .field("provider_timeout", &self.provider_timeout)
            .field("api_requests_per_minute", &self.api_requests_per_minute)
            .field("sandbox_enabled", &self.sandbox_enabled)
            .field(
                "sandbox_url",
                &self.sandbox_url.as_ref().map(|u| u.as_str()),
            )
            .field("aws_endpoints", &self.aws_endpoints)
            .field("twilio", &self.twilio)
            .field("mailer", &self.mailer)
            .finish_non_exhaustive()
    }
}

/// The URL with any password replaced, for logs and `Debug`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "[unparseable]".into(),
    }
}

/// What the optional file (`PHONEHUB_CONFIG`, default `phonehub.toml` if present) may set.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    environment: Option<Environment>,
    database_url: Option<String>,
    site_addr: Option<String>,
    public_url: Option<String>,
    data_dir: Option<String>,
    seed_demo: Option<bool>,
    db_max_connections: Option<u32>,
    sandbox: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

impl Settings {
    /// Reads the layers from the process environment.
    pub fn load() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the layers through `env` (the process environment, or a test's variables), checking
    /// each setting in turn; the first that is wrong is the error.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let env = &env;
        let file = config_file(env)?;
        let environment = environment(env, &file)?;
        let dev = environment == Environment::Development;
        let database_url = database_url(env, &file)?;
        let (site_addr, public_url) = addresses(env, &file)?;
        let data_dir = PathBuf::from(
            env("PHONEHUB_DATA_DIR")
                .or(file.data_dir.clone())
                .unwrap_or_else(|| ".data".into()),
        );
        let secret_key = secret_key(env, &data_dir)?;
        let keyring = keyring(env("PHONEHUB_CONFIG_KEYS"), &data_dir)?;
        let seed_demo = flag(env, "PHONEHUB_SEED_DEMO")?
            .or(file.seed_demo)
            .unwrap_or(true)
            && dev;
        let provider_timeout =
            number(env, "PHONEHUB_PROVIDER_TIMEOUT_MS")?.map(std::time::Duration::from_millis);
        let db_max_connections = db_max_connections(env, &file)?;
        let sandbox_enabled = sandbox_enabled(env, &file, dev)?;
        let site_root = env("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into());
        let api_requests_per_minute = api_requests_per_minute(env)?;
        let trust_proxy = trust_proxy(env, site_addr)?;
        Ok(Settings {
            api_requests_per_minute,
            job_timing: app::ssr::bulk_lookups::JobTiming::default(),
            trust_proxy,
            sandbox_url: sandbox_url(env, dev)?,
            mailer: mailer(env)?,
            aws_endpoints: app::ssr::providers::AwsEndpoints {
                sns: dev_url(env, dev, "PHONEHUB_AWS_SNS_URL")?,
                pinpoint: dev_url(env, dev, "PHONEHUB_AWS_PINPOINT_URL")?,
            },
            sandbox_enabled,
            twilio: twilio(env)?,
            environment,
            database_url,
            site_addr,
            public_url,
            data_dir,
            secret_key,
            keyring,
            seed_demo,
            output_name: output_name(env, &site_root)?,
            metrics_addr: metrics_addr(env)?,
            site_root,
            db_max_connections,
            provider_timeout,
        })
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The optional file's settings: `PHONEHUB_CONFIG`, else `phonehub.toml` if there is one, else
/// none.
fn config_file(env: Env) -> Result<FileSettings, ConfigError> {
    Ok(match &env("PHONEHUB_CONFIG") {
        Some(p) => read_file(Path::new(p))?,
        None if Path::new("phonehub.toml").exists() => read_file(Path::new("phonehub.toml"))?,
        None => FileSettings::default(),
    })
}

/// `PHONEHUB_DATABASE_URL`, else `DATABASE_URL`, else the file's; one of them is needed.
fn database_url(env: Env, file: &FileSettings) -> Result<String, ConfigError> {
    env("PHONEHUB_DATABASE_URL")
        .or_else(|| env("DATABASE_URL"))
        .or(file.database_url.clone())
        .ok_or_else(|| invalid("set DATABASE_URL (or PHONEHUB_DATABASE_URL)"))
}

/// `PHONEHUB_SECRET_KEY` (base64), else the key in `<data dir>/secret.key` (made on first start).
fn secret_key(env: Env, data_dir: &Path) -> Result<SecretKey, ConfigError> {
    match env("PHONEHUB_SECRET_KEY") {
        Some(b64) => decode_key(&b64),
        None => key_from_file(&data_dir.join("secret.key")),
    }
}

/// `PHONEHUB_DB_MAX_CONNECTIONS`, else the file's, else 10.
fn db_max_connections(env: Env, file: &FileSettings) -> Result<u32, ConfigError> {
    Ok(match number(env, "PHONEHUB_DB_MAX_CONNECTIONS")? {
        Some(n) => {
            u32::try_from(n).map_err(|_| invalid("PHONEHUB_DB_MAX_CONNECTIONS is too large"))?
        }
        None => file.db_max_connections.unwrap_or(10),
    })
}

/// Whether the built-in sandbox provider is offered: `PHONEHUB_SANDBOX`, else the file's, else in
/// development only; asking for it outside development is an error.
fn sandbox_enabled(env: Env, file: &FileSettings, dev: bool) -> Result<bool, ConfigError> {
    let sandbox_enabled = flag(env, "PHONEHUB_SANDBOX")?
        .or(file.sandbox)
        .unwrap_or(dev);
    if sandbox_enabled && !dev {
        return Err(invalid(
            "the Twilio sandbox is for development only: unset PHONEHUB_SANDBOX or set PHONEHUB_ENV=development",
        ));
    }
    Ok(sandbox_enabled)
}

/// The API's requests per minute for each key: `PHONEHUB_API_REQUESTS_PER_MINUTE` (at least 1),
/// else 600.
fn api_requests_per_minute(env: Env) -> Result<u32, ConfigError> {
    match number(env, "PHONEHUB_API_REQUESTS_PER_MINUTE")? {
        Some(0) => Err(invalid(
            "PHONEHUB_API_REQUESTS_PER_MINUTE must be at least 1",
        )),
        Some(n) => {
            u32::try_from(n).map_err(|_| invalid("PHONEHUB_API_REQUESTS_PER_MINUTE is too large"))
        }
        None => Ok(600),
    }
}

/// Whether to believe the proxy's `X-Forwarded-For` (`PHONEHUB_TRUST_PROXY`, off by default);
/// only for a server listening on a loopback address.
fn trust_proxy(env: Env, site_addr: SocketAddr) -> Result<bool, ConfigError> {
    let trust_proxy = flag(env, "PHONEHUB_TRUST_PROXY")?.unwrap_or(false);
    if trust_proxy && !site_addr.ip().is_loopback() {
        // Anyone reaching the server directly could then pick the address it records and
        // limits by (X-Forwarded-For).
        return Err(invalid(format!(
            "PHONEHUB_TRUST_PROXY=true needs the server to listen on a loopback address (the proxy's side), not {site_addr}: set LEPTOS_SITE_ADDR=127.0.0.1:<port> or unset PHONEHUB_TRUST_PROXY"
        )));
    }
    Ok(trust_proxy)
}

fn metrics_addr(env: Env) -> Result<Option<SocketAddr>, ConfigError> {
    env("PHONEHUB_METRICS_ADDR")
        .map(|a| {
            a.parse().map_err(|_| {
                invalid(format!(
                    "PHONEHUB_METRICS_ADDR {a:?} is not host:port (say 127.0.0.1:9464)"
                ))
            })
        })
        .transpose()
}

/// The browser bundle's base name: `LEPTOS_OUTPUT_NAME`, else the content-hashed name `make dist`
/// wrote to `<site root>/bundle-name` (`phonehub.<hash>`), else `phonehub` (the development build).
fn output_name(env: Env, site_root: &str) -> Result<String, ConfigError> {
    let name = match env("LEPTOS_OUTPUT_NAME") {
        Some(n) => n,
        None => match std::fs::read_to_string(Path::new(site_root).join("bundle-name")) {
            Ok(n) => n.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok("phonehub".into()),
            Err(e) => return Err(invalid(format!("{site_root}/bundle-name: {e}"))),
        },
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.starts_with('.') || !name.chars().all(plain) {
        return Err(invalid(format!(
            "the bundle name {name:?} may hold only letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(name)
}

/// Production unless development is asked for: demo data and the sandbox must be.
fn environment(env: Env, file: &FileSettings) -> Result<Environment, ConfigError> {
    match env("PHONEHUB_ENV").as_deref() {
        Some("development") => Ok(Environment::Development),
        Some("production") => Ok(Environment::Production),
        Some(other) => Err(invalid(format!(
            "PHONEHUB_ENV must be development or production, not {other:?}"
        ))),
        None => Ok(file.environment.unwrap_or(Environment::Production)),
    }
}

/// Where the server listens, and the origin browsers use to reach it.
fn addresses(env: Env, file: &FileSettings) -> Result<(SocketAddr, url::Url), ConfigError> {
    let site_addr_s = env("LEPTOS_SITE_ADDR")
        .or(file.site_addr.clone())
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let site_addr: SocketAddr = site_addr_s
        .parse()
        .map_err(|_| invalid(format!("LEPTOS_SITE_ADDR {site_addr_s:?} is not host:port")))?;
    let public_s = env("PHONEHUB_PUBLIC_URL")
        .or(file.public_url.clone())
        .unwrap_or_else(|| format!("http://{site_addr}"));
    let public_url = url::Url::parse(&public_s)
        .map_err(|e| invalid(format!("PHONEHUB_PUBLIC_URL {public_s:?}: {e}")))?;
    if !matches!(public_url.scheme(), "http" | "https") || public_url.host().is_none() {
        return Err(invalid("PHONEHUB_PUBLIC_URL must be an http(s) URL"));
    }
    Ok((site_addr, public_url))
}

fn flag(env: Env, name: &str) -> Result<Option<bool>, ConfigError> {
    match env(name).as_deref() {
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false") => Ok(Some(false)),
        Some(other) => Err(invalid(format!("{name}: {other:?} is not true/false"))),
        None => Ok(None),
    }
}

fn number(env: Env, name: &str) -> Result<Option<u64>, ConfigError> {
    env(name)
        .map(|v| {
            v.parse()
                .map_err(|_| invalid(format!("{name} must be a number")))
        })
        .transpose()
}

/// The system default's Twilio account on first start (both variables or neither).
fn twilio(env: Env) -> Result<Option<TwilioSettings>, ConfigError> {
    match (
        env("PHONEHUB_TWILIO_ACCOUNT_SID"),
        env("PHONEHUB_TWILIO_AUTH_TOKEN"),
    ) {
        (Some(account_sid), Some(auth_token)) => Ok(Some(TwilioSettings {
            account_sid,
            auth_token,
            api_base: env("PHONEHUB_TWILIO_API_BASE")
                .unwrap_or_else(|| telephony::twilio::TWILIO_API.into()),
            lookups_base: env("PHONEHUB_TWILIO_LOOKUPS_BASE")
                .unwrap_or_else(|| telephony::twilio::TWILIO_LOOKUPS.into()),
        })),
        (None, None) => Ok(None),
        _ => Err(invalid(
            "set both PHONEHUB_TWILIO_ACCOUNT_SID and PHONEHUB_TWILIO_AUTH_TOKEN, or neither",
        )),
    }
}

/// A development-only URL setting (a mock service), without a trailing slash.
fn dev_url(env: Env, dev: bool, name: &str) -> Result<Option<String>, ConfigError> {
    match env(name) {
        None => Ok(None),
        Some(_) if !dev => Err(invalid(format!(
            "{name} is for development only (PHONEHUB_ENV=development)"
        ))),
        Some(u) => url::Url::parse(&u)
            .map(|_| Some(u.trim_end_matches('/').to_string()))
            .map_err(|e| invalid(format!("{name} is not a URL: {e}"))),
    }
}

/// SMTP for e-mail alerts: `PHONEHUB_SMTP_URL` (`smtp://host:port`, `smtps://…`, with
/// `?tls=required` for STARTTLS) and `PHONEHUB_MAIL_FROM` (default `PhoneHub
/// <alerts@localhost>`); unset, e-mail alerts are off.
fn mailer(env: Env) -> Result<Option<app::ssr::mailer::Mailer>, ConfigError> {
    let Some(url) = env("PHONEHUB_SMTP_URL").filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let from = env("PHONEHUB_MAIL_FROM").unwrap_or_else(|| "PhoneHub <alerts@localhost>".into());
    app::ssr::mailer::Mailer::new(url.trim(), &from)
        .map(Some)
        .map_err(invalid)
}

/// A sandbox outside this server (development only).
fn sandbox_url(env: Env, dev: bool) -> Result<Option<url::Url>, ConfigError> {
    match env("PHONEHUB_SANDBOX_URL") {
        None => Ok(None),
        Some(_) if !dev => Err(invalid(
            "PHONEHUB_SANDBOX_URL is for development only (PHONEHUB_ENV=development)",
        )),
        Some(u) => url::Url::parse(&u)
            .map(Some)
            .map_err(|e| invalid(format!("PHONEHUB_SANDBOX_URL is not a URL: {e}"))),
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

fn decode_key(b64: &str) -> Result<SecretKey, ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| invalid("PHONEHUB_SECRET_KEY must be base64"))?;
    if bytes.len() < 64 {
        return Err(invalid(
            "PHONEHUB_SECRET_KEY must decode to at least 64 bytes",
        ));
    }
    Ok(SecretKey(bytes))
}

/// Reads the key file, creating it (mode 0600) with 64 random bytes on first run.
fn key_from_file(path: &Path) -> Result<SecretKey, ConfigError> {
    let text = read_or_create(path, || {
        let mut bytes = [0u8; 64];
        rand::Rng::fill(&mut rand::rngs::OsRng, &mut bytes[..]);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    })?;
    decode_key(&text)
}

/// The credential keyring from `PHONEHUB_CONFIG_KEYS`, else from `config.keys` in the data
/// directory (created with one random key on first start, mode 0600).
fn keyring(env_value: Option<String>, data_dir: &Path) -> Result<Arc<Keyring>, ConfigError> {
    let spec = match env_value {
        Some(s) => s,
        None => read_or_create(&data_dir.join("config.keys"), || {
            format!("k1:{}", app::ssr::crypto::Key::generate_b64())
        })?,
    };
    Keyring::parse(spec.trim())
        .map(Arc::new)
        .map_err(|e| ConfigError::Invalid(format!("PHONEHUB_CONFIG_KEYS: {e}")))
}

/// Reads a secret file, or creates it (0600) with `make()`. The file appears whole or not at all
/// (written beside it, then hard-linked into place), so a process starting at the same moment
/// never reads it half-written; if another process creates it first, theirs is used.
fn read_or_create(path: &Path, make: impl Fn() -> String) -> Result<String, ConfigError> {
    use std::io::Write;
    let io = |source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Ok(text) = std::fs::read_to_string(path) {
        return Ok(text);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let value = make();
    let tmp = path.with_extension(format!(
        "tmp-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let written = opts
        .open(&tmp)
        .and_then(|mut f| f.write_all(value.as_bytes()).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(value),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path).map_err(io)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn trusting_a_proxy_is_refused_on_a_public_address() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let with = |addr: &'static str, trust: bool| {
            let mut v = vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("PHONEHUB_SECRET_KEY", key.as_str()),
                ("LEPTOS_SITE_ADDR", addr),
            ];
            if trust {
                v.push(("PHONEHUB_TRUST_PROXY", "true"));
            }
            load(&v)
        };
        let e = with("0.0.0.0:3000", true).unwrap_err();
        assert!(e.to_string().contains("PHONEHUB_TRUST_PROXY"), "{e}");
        assert!(with("127.0.0.1:3000", true).unwrap().trust_proxy);
        assert!(!with("0.0.0.0:3000", false).unwrap().trust_proxy);
    }

    #[test]
    fn env_vars_override_defaults() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let s = load(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:4000"),
            ("PHONEHUB_SECRET_KEY", &key),
        ])
        .unwrap();
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:4000/");
        assert_eq!(s.environment, Environment::Production);
        assert!(!s.seed_demo, "production is the default: no demo data");
        assert!(!s.sandbox_enabled, "production is the default: no sandbox");
        assert!(!format!("{s:?}").contains(&key));
    }

    #[test]
    fn the_sandbox_is_on_in_development_and_twilio_credentials_come_in_pairs() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let dev = load(&[
            ("DATABASE_URL", "p"),
            ("PHONEHUB_SECRET_KEY", &key),
            ("PHONEHUB_ENV", "development"),
        ])
        .unwrap();
        assert!(dev.sandbox_enabled);
        assert!(dev.seed_demo);
        let e = load(&[
            ("DATABASE_URL", "p"),
            ("PHONEHUB_SECRET_KEY", &key),
            ("PHONEHUB_SANDBOX", "true"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("development only"), "{e}");
        assert!(dev.twilio.is_none());
        let prod = load(&[
            ("DATABASE_URL", "p"),
            ("PHONEHUB_SECRET_KEY", &key),
            ("PHONEHUB_ENV", "production"),
        ])
        .unwrap();
        assert!(!prod.sandbox_enabled);
        let e = load(&[
            ("DATABASE_URL", "p"),
            ("PHONEHUB_SECRET_KEY", &key),
            ("PHONEHUB_TWILIO_ACCOUNT_SID", "AC1"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("both"));
        let real = load(&[
            ("DATABASE_URL", "p"),
            ("PHONEHUB_SECRET_KEY", &key),
            ("PHONEHUB_TWILIO_ACCOUNT_SID", "AC1"),
            ("PHONEHUB_TWILIO_AUTH_TOKEN", "tok-secret-xyz"),
        ])
        .unwrap();
        assert_eq!(
            real.twilio.as_ref().unwrap().api_base,
            "https://api.twilio.com"
        );
        assert!(!format!("{real:?}").contains("tok-secret-xyz"));
    }

    #[test]
    fn secret_files_are_created_whole_once_even_by_racing_starts() {
        let dir = std::env::temp_dir().join(format!("phonehub-race-{}", std::process::id()));
        let path = dir.join("config.keys");
        let _ = std::fs::remove_file(&path);
        let seen: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let path = path.clone();
                    s.spawn(move || {
                        read_or_create(&path, || format!("k{i}:{}", "x".repeat(40))).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            seen.iter().all(|v| v == &seen[0] && v.len() > 40),
            "{seen:?}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), seen[0]);
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let s = load(&[
            (
                "DATABASE_URL",
                "postgres://app:hunter2secret@db.internal:5432/phonehub",
            ),
            ("PHONEHUB_SECRET_KEY", &key),
        ])
        .unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2secret"), "{printed}");
        assert!(printed.contains("db.internal"));
    }

    #[test]
    fn production_never_seeds_and_bad_values_are_named() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let s = load(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("PHONEHUB_ENV", "production"),
            ("PHONEHUB_SECRET_KEY", &key),
        ])
        .unwrap();
        assert!(!s.seed_demo);
        let e = load(&[("DATABASE_URL", "postgres://x/y"), ("PHONEHUB_ENV", "prod")]).unwrap_err();
        assert!(e.to_string().contains("PHONEHUB_ENV"));
        let e = load(&[("DATABASE_URL", "p"), ("PHONEHUB_SECRET_KEY", "c2hvcnQ=")]).unwrap_err();
        assert!(e.to_string().contains("64 bytes"));
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("phonehub-key-{}", std::process::id()));
        let path = dir.join("secret.key");
        let a = key_from_file(&path).unwrap();
        let b = key_from_file(&path).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
