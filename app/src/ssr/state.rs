//! State shared by every request: the database pool and the parts of the configuration pages need.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub leptos_options: LeptosOptions,
    /// `PHONEHUB_PUBLIC_URL`: the origin browsers use to reach us (CSRF checks, cookies, webhooks).
    pub public_url: url::Url,
    pub dev_mode: bool,
    /// `PHONEHUB_TRUST_PROXY`: the server sits behind a reverse proxy, so the client's address
    /// is the last one the proxy appended to `X-Forwarded-For` (not the proxy's own).
    pub trust_proxy: bool,
    /// Keys for provider credentials at rest.
    pub keyring: std::sync::Arc<super::crypto::Keyring>,
    /// Provider clients built from phone configurations.
    pub providers: super::providers::Providers,
    /// Batched writer of lookup events.
    pub events: super::lookup_events::EventSink,
    /// Lookup answers held in this process (invalidated through Postgres notifications).
    pub hot: super::hot_cache::HotCache,
    /// Access answers last read, for while the database cannot be reached.
    pub known: super::last_known::LastKnown,
    /// Bulk-job heartbeat and takeover times.
    pub job_timing: super::bulk_lookups::JobTiming,
    /// The bounded gate every password hash goes through, and the device-cookie key (`auth`).
    pub passwords: super::auth::Passwords,
    /// The clock every time rule reads (tests move it forward).
    pub clock: super::clock::Clock,
    /// SMTP for e-mail alerts (`PHONEHUB_SMTP_URL`); None: e-mail alerts are off.
    pub mailer: Option<super::mailer::Mailer>,
    /// How many texts this server asks the provider for at once (each holds a database
    /// connection for its opt-out fence until the provider answers).
    pub dispatch: DispatchSlots,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.public_url.as_str())
            .field("dev_mode", &self.dev_mode)
            .finish_non_exhaustive()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}

impl AppState {
    pub fn lookup_deps(&self) -> super::lookups::Deps<'_> {
        super::lookups::Deps {
            pool: &self.pool,
            keyring: &self.keyring,
            providers: &self.providers,
            events: &self.events,
            hot: &self.hot,
            public_url: &self.public_url,
            outage: &self.known.outage,
            clock: &self.clock,
        }
    }

    /// Puts the state in the Leptos context of a request (or render), and with it the password
    /// hashing gate, which `auth` reads there by its own type.
    pub fn provide(&self) {
        leptos::prelude::provide_context(self.clone());
        leptos::prelude::provide_context(self.passwords.gate.clone());
    }

    pub fn from_context() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the Leptos context");
            crate::error::AppError::Internal
        })
    }
}

/// The texts one server asks the provider for at once. Each holds a database connection from its
/// opt-out fence until the provider answers, so they may take at most half the pool: a slow
/// provider slows sends, never the pages.
#[derive(Debug, Clone)]
pub struct DispatchSlots(std::sync::Arc<tokio::sync::Semaphore>);

impl DispatchSlots {
    /// Half of a pool of `pool_size` connections (at least one).
    pub fn for_pool(pool_size: u32) -> DispatchSlots {
        let n = usize::try_from(pool_size / 2).unwrap_or(1).max(1);
        DispatchSlots(std::sync::Arc::new(tokio::sync::Semaphore::new(n)))
    }

    /// Waits for a free slot, held until the permit is dropped.
    pub async fn take(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.0.acquire().await.ok()
    }
}

impl Default for DispatchSlots {
    /// The slots of the default pool (10 connections).
    fn default() -> DispatchSlots {
        DispatchSlots::for_pool(10)
    }
}
