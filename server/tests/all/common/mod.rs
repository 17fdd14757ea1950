//! `spawn_app()`: a PhoneHub server on a free port over a fresh database, and a cookie-jar client.

#![allow(dead_code)]

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ORIGIN};
use reqwest::redirect::Policy;
use server::config::{Environment, SecretKey, Settings};
use sqlx::PgPool;

pub const PASSWORD: &str = server::seed::DEMO_PASSWORD;

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
}

pub fn settings(public_url: &str) -> Settings {
    Settings {
        environment: Environment::Development,
        database_url: String::new(),
        site_addr: "127.0.0.1:0".parse().unwrap(),
        public_url: url::Url::parse(public_url).unwrap(),
        data_dir: std::env::temp_dir(),
        secret_key: SecretKey::generate(),
        keyring: std::sync::Arc::new(
            app::ssr::crypto::Keyring::parse(&format!("t1:{}", test_key(1))).unwrap(),
        ),
        seed_demo: false,
        site_root: "target/site".into(),
        output_name: "phonehub".into(),
        metrics_addr: None,
        db_max_connections: 5,
        provider_timeout: None,
        sandbox_enabled: false,
        sandbox_url: None,
        aws_endpoints: Default::default(),
        trust_proxy: false,
        job_timing: Default::default(),
        api_requests_per_minute: 600,
        twilio: None,
        mailer: None,
    }
}

/// A fixed 32-byte key (base64) for keyrings in tests.
pub fn test_key(n: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([n; 32])
}

/// A Twilio sandbox on its own port (in memory), and its base URL.
pub async fn start_sandbox() -> (String, telephony::sandbox::Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sb =
        telephony::sandbox::Sandbox::start(telephony::sandbox::SandboxConfig::dev(&base, None));
    let router = telephony::sandbox::router(sb.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, sb)
}

/// A client call to one of the sandbox's control endpoints, with its Basic credentials.
pub fn sandbox_control(method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, url).basic_auth(
        telephony::sandbox::DEV_ACCOUNT_SID,
        Some(telephony::sandbox::DEV_AUTH_TOKEN),
    )
}

pub async fn sandbox_stat(base: &str, key: &str) -> u64 {
    let stats: serde_json::Value = sandbox_control(reqwest::Method::GET, format!("{base}/_stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats[key].as_u64().unwrap_or(0)
}

/// Sets `org`'s phone config (as `admin`) to the development sandbox (the one the server was
/// started with: `spawn_app_on`). `_sandbox_base` names it for the reader; the org cannot choose it.
pub async fn configure_sandbox(
    app: &TestApp,
    admin: &reqwest::Client,
    org: &str,
    _sandbox_base: &str,
    cache_days: &str,
) -> reqwest::Response {
    app.call(
        admin,
        "save_phone_config",
        &[
            ("org", org),
            ("provider", "sandbox"),
            ("display_name", "Test sandbox"),
            ("active", "on"),
            ("lookup_enabled", "on"),
            ("lookup_cache_days", cache_days),
            ("default_sender", ""),
            ("credential_id", telephony::sandbox::DEV_ACCOUNT_SID),
            ("credential_secret", telephony::sandbox::DEV_AUTH_TOKEN),
        ],
    )
    .await
}

/// Seeds the demo data plus an Acme admin, and serves it on a free port.
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, "http://127.0.0.1:0").await
}

/// As `spawn_app`, with the development sandbox at `sandbox` (`PHONEHUB_SANDBOX_URL`).
pub async fn spawn_app_on(pool: PgPool, sandbox: &str) -> TestApp {
    let mut s = settings("http://127.0.0.1:0");
    s.sandbox_url = Some(url::Url::parse(sandbox).unwrap());
    spawn_with_settings(pool, s).await
}

pub async fn spawn_app_with(pool: PgPool, public_url: &str) -> TestApp {
    spawn_with_settings(pool, settings(public_url)).await
}

/// As `spawn_with_settings`, keeping a handle on the public API's rate limiter.
pub async fn spawn_with_limiter(
    pool: PgPool,
    settings: Settings,
) -> (TestApp, std::sync::Arc<server::v1::RateLimiter>) {
    seed(&pool).await;
    let app = server::Application::build_with_pool(settings, pool.clone())
        .await
        .expect("build app");
    let limiter = app.api_limiter();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    (TestApp { base, pool }, limiter)
}

/// A second server over a database another one already seeded.
pub async fn spawn_without_seed(pool: PgPool, settings: Settings) -> TestApp {
    let app = server::Application::build_with_pool(settings, pool.clone())
        .await
        .expect("build app");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    TestApp { base, pool }
}

/// As `spawn_with_settings` (seeded), with the server's clock to move forward.
pub async fn spawn_with_clock(
    pool: PgPool,
    settings: Settings,
) -> (TestApp, app::ssr::clock::Clock) {
    seed(&pool).await;
    let app = server::Application::build_with_pool(settings, pool.clone())
        .await
        .expect("build app");
    let clock = app.state().clock.clone();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    (TestApp { base, pool }, clock)
}

pub async fn spawn_with_settings(pool: PgPool, settings: Settings) -> TestApp {
    spawn_with_limiter(pool, settings).await.0
}

/// The demo data plus a second Acme admin (second@acme.test).
pub async fn seed(pool: &PgPool) {
    server::seed::seed_demo(pool).await.expect("seed");
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'admin@acme.test'")
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query(
        "WITH u AS (INSERT INTO users (email, name, password_hash) VALUES ('second@acme.test', 'Second Admin', $1) RETURNING id)
         INSERT INTO memberships (org_id, user_id, role) SELECT o.id, u.id, 'admin' FROM u, orgs o WHERE o.slug = 'acme'",
    )
    .bind(hash)
    .execute(pool)
    .await
    .unwrap();
    // Texts go at any hour in tests that are not about quiet hours: none depends on the hour it
    // runs at (`quiet_hours.rs` turns them on and drives the clock).
    sqlx::query("INSERT INTO quiet_hours (org_id, enabled) SELECT id, false FROM orgs")
        .execute(pool)
        .await
        .unwrap();
}

impl TestApp {
    /// A browser-like client: keeps cookies, sends our Origin, does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        self.client_with_origin(Some(&self.base))
    }

    pub fn client_with_origin(&self, origin: Option<&str>) -> reqwest::Client {
        let mut headers = browser_headers();
        if let Some(o) = origin {
            headers.insert(ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .default_headers(headers)
            // A stuck server fails the test instead of hanging the suite.
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// A browser-like client (cookies, our Origin) that hands back bodies as the server sent them:
    /// for asserting on the compression itself.
    pub fn undecoding_client(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .default_headers(headers)
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// Calls a server function as the hydrated app does.
    pub async fn call(
        &self,
        c: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        c.post(format!("{}/api/{endpoint}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A page loader's answer (postcard, as the browser reads it, see `app::components::data`),
    /// given as JSON for the assertions. Asserts 200.
    pub async fn load<T>(
        &self,
        c: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> serde_json::Value
    where
        T: serde::de::DeserializeOwned + serde::Serialize,
    {
        let r = self.call(c, endpoint, form).await;
        assert_eq!(r.status(), 200, "{endpoint}");
        decode::<T>(r).await
    }

    /// Posts a form as a browser with JavaScript off does.
    pub async fn post_plain(
        &self,
        c: &reqwest::Client,
        endpoint: &str,
        referer_path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        c.post(format!("{}/api/{endpoint}", self.base))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(
                reqwest::header::REFERER,
                format!("{}{referer_path}", self.base),
            )
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, c: &reqwest::Client, path: &str) -> reqwest::Response {
        c.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn login_as(&self, email: &str) -> reqwest::Client {
        let c = self.client();
        let r = self
            .call(&c, "login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert!(r.status().is_success(), "login as {email}: {}", r.status());
        c
    }

    pub async fn user_id(&self, email: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

/// What Chromium sends on every request: the whole suite is answered as browsers are (compressed
/// where the server compresses), and the clients decode it as browsers do.
pub const BROWSER_ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

pub fn browser_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_ENCODING,
        HeaderValue::from_static(BROWSER_ACCEPT_ENCODING),
    );
    headers
}

/// A client without cookies or Origin that still asks for compressed answers as a browser does
/// (webhooks, the public API).
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .default_headers(browser_headers())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A page loader's successful answer (postcard), as JSON for the assertions.
pub async fn decode<T>(r: reqwest::Response) -> serde_json::Value
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let bytes = r.bytes().await.unwrap();
    let answer: T = postcard::from_bytes(&bytes).expect("a postcard answer");
    serde_json::to_value(answer).unwrap()
}

/// The user's own phone that owned numbers forward to in tests.
pub const PHONE: &str = "+14155550123";

/// A number bought by `who` (through the sandbox), forwarding to PHONE; returns (id, e164).
pub async fn own_number(
    app: &TestApp,
    who: &reqwest::Client,
    e164: &str,
    record: bool,
    forward: &str,
) -> i64 {
    let key = format!("{:0>32}", e164.trim_start_matches('+'));
    let r = app
        .call(
            who,
            "buy_number",
            &[
                ("org", "acme"),
                ("number", e164),
                ("key", &key),
                ("friendly_name", "Line"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "buy: {}", r.status());
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM owned_numbers WHERE e164 = $1 AND status = 'active'")
            .bind(e164)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let id_s = id.to_string();
    let mut form = vec![
        ("org", "acme"),
        ("id", id_s.as_str()),
        ("friendly_name", "Line"),
        ("active", "on"),
        ("forward_to", forward),
    ];
    if record {
        form.push(("record_calls", "on"));
    }
    let r = app.call(who, "update_number", &form).await;
    assert!(r.status().as_u16() < 400, "settings: {}", r.status());
    id
}

/// Posts a webhook signed with `token` (None: unsigned).
pub async fn webhook(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> reqwest::Response {
    let url = format!("{}{path}", app.base);
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut req = reqwest::Client::new().post(&url).form(params);
    if let Some(t) = token {
        req = req.header(
            "X-Twilio-Signature",
            telephony::signature::compute(t, &url, &owned),
        );
    }
    req.send().await.unwrap()
}

/// Reads a value until it is `want` or `within` has passed (polling, never a fixed wait); returns
/// the last value read, for the caller's assertion to show.
pub async fn poll_until_eq<T, F, Fut>(within: std::time::Duration, want: T, mut read: F) -> T
where
    T: PartialEq,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = std::time::Instant::now() + within;
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        let last = read().await;
        if last == want || std::time::Instant::now() >= deadline {
            return last;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

mod db_proxy;
#[allow(unused_imports)]
pub use db_proxy::DbProxy;

/// moto, the AWS-compatible mock, exactly as telephony's tests start it.
#[path = "../../../../telephony/tests/common/moto.rs"]
pub mod moto;
pub mod smtp;

/// A sent message row of acme's configuration (as if the provider accepted it), with provider
/// SID `sid`.
pub async fn insert_message(app: &TestApp, sid: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO messages (org_id, user_id, config_id, direction, our_e164, other_e164, body, segments, encoding, provider_sid, cost_micros)
         SELECT o.id, u.id, c.id, 'outbound', '+14155550180', '+12125550147', 'hi', 1, 'gsm7', $1, 7900
         FROM orgs o JOIN phone_configs c ON c.org_id = o.id, users u
         WHERE o.slug = 'acme' AND u.email = 'user@acme.test' RETURNING id",
    )
    .bind(sid)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Test setup: `email`'s open invitation to `org` accepted as if they had pressed Accept (adding a
/// member is an invitation; `tests/invitations.rs` tests accepting it).
pub async fn accept_invitation_of(app: &TestApp, org: &str, email: &str) {
    let r = sqlx::query(
        "WITH i AS (
             UPDATE invitations SET status = 'accepted', decided_at = now()
             WHERE status = 'pending' AND email = $2 AND org_id = (SELECT id FROM orgs WHERE slug = $1)
             RETURNING org_id, email, role)
         INSERT INTO memberships (org_id, user_id, role)
         SELECT i.org_id, u.id, i.role FROM i JOIN users u ON u.email = i.email",
    )
    .bind(org)
    .bind(email)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        r.rows_affected(),
        1,
        "no open invitation of {email} to {org}"
    );
}

/// The longest an answer may take while the database is away: one wait for the pool and one
/// confirmation that it is an outage (several probes), plus a margin; never a hang.
pub fn in_an_outage() -> std::time::Duration {
    server::startup::ACQUIRE_TIMEOUT
        + app::ssr::outage::LONGEST_CONFIRM
        + std::time::Duration::from_millis(500)
}

/// Creates a key in acme through the page's server function (JavaScript on); returns the key.
pub async fn create_key(
    app: &TestApp,
    admin: &reqwest::Client,
    acting_as: &str,
    scopes: &[&str],
) -> String {
    let r = try_create_key(app, admin, "acme", acting_as, scopes).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["key"].as_str().unwrap().to_string()
}

pub async fn try_create_key(
    app: &TestApp,
    c: &reqwest::Client,
    org: &str,
    acting_as: &str,
    scopes: &[&str],
) -> reqwest::Response {
    let acting = app.user_id(acting_as).await.to_string();
    let mut form = vec![("org", org), ("name", "CRM sync"), ("acting_as", &acting)];
    for s in scopes {
        form.push((s, "on"));
    }
    app.call(c, "create_api_key", &form).await
}
