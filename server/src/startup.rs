//! Builds the axum app (`Application::build`) so `main` and the tests start it the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::ssr::auth::Backend;
use app::ssr::AppState;
use app::{shell, App};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder};
use http::StatusCode;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::service::SignedCookie;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::config::Settings;
use crate::middleware::{self, RenderPage, Rerender};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid DATABASE_URL: {0}")]
    DatabaseUrl(sqlx::Error),
    #[error("could not migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not seed demo data: {0}")]
    Seed(String),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid secret key: {0}")]
    Key(String),
}

/// The schema this build expects (migrations run at start; `/readyz` checks they are all applied).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub struct Application {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    /// `/metrics`, on its own address.
    metrics: Option<TcpListener>,
    workers: Workers,
    /// What must be finished after the last request: recorded lookups written, the pool closed.
    state: AppState,
    /// The public API's budget; this server's share is given back when it stops.
    limiter: Arc<crate::v1::RateLimiter>,
}

/// How long a request waits for a database connection. While the database is away a request
/// fails after this and answers 503 (see `middleware::unavailable_page`) well within a second.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);

pub fn pool_for(settings: &Settings) -> Result<PgPool, StartError> {
    let opts: PgConnectOptions = settings
        .database_url
        .parse()
        .map_err(StartError::DatabaseUrl)?;
    // Lazy: the server starts and answers 503 while the database is down, and recovers after.
    Ok(PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(opts))
}

/// The `/metrics` listener, bound when `settings.metrics_addr` asks for one (with a warning
/// when that address is not a loopback one).
async fn bind_metrics(settings: &Settings) -> Result<Option<TcpListener>, StartError> {
    let metrics = match settings.metrics_addr {
        Some(at) => {
            if !at.ip().is_loopback() {
                tracing::warn!(%at, "metrics are served without authentication on a non-loopback address: keep it off public networks");
            }
            crate::metrics::handle();
            Some(
                crate::metrics::bind(at)
                    .await
                    .map_err(|source| StartError::Bind { addr: at, source })?,
            )
        }
        None => None,
    };
    Ok(metrics)
}

/// The Twilio sandbox, when `settings` turn it on: served under `/sandbox/twilio` of the public
/// URL, with its state kept in the data directory.
fn start_sandbox(settings: &Settings) -> Option<telephony::sandbox::Shared> {
    settings.sandbox_enabled.then(|| {
        let base = format!(
            "{}/sandbox/twilio",
            settings.public_url.as_str().trim_end_matches('/')
        );
        let file = settings.data_dir.join("twilio-sandbox.json");
        telephony::sandbox::Sandbox::start(telephony::sandbox::SandboxConfig::dev(
            &base,
            Some(file),
        ))
    })
}

/// The system's telephony provider: the configured Twilio credentials, else the sandbox's.
fn system_provider(
    settings: &Settings,
    sandbox: Option<&telephony::sandbox::Shared>,
) -> Option<crate::config::TwilioSettings> {
    // Real credentials win; otherwise the sandbox (when on) is the system's provider.
    settings.twilio.clone().or_else(|| {
        sandbox.map(|sb| crate::config::TwilioSettings {
            account_sid: sb.config().account_sid.clone(),
            auth_token: sb.config().auth_token.clone(),
            api_base: format!("{}/api", sb.config().public_base),
            lookups_base: format!("{}/lookups", sb.config().public_base),
        })
    })
}

/// Makes sure the system default phone config exists for `twilio`, re-encrypts stored provider
/// credentials with the current key, and logs which provider is in use. Failures are logged
/// only: the server starts anyway.
async fn prepare_provider(
    pool: &PgPool,
    settings: &Settings,
    twilio: Option<&crate::config::TwilioSettings>,
) {
    if let Err(e) = app::ssr::system_config::ensure_system_default(
        pool,
        &settings.keyring,
        twilio,
        settings.twilio.is_none(),
    )
    .await
    {
        tracing::warn!(error = %e, "could not check the system default phone config");
    }
    match app::ssr::system_config::rotate_credentials(pool, &settings.keyring).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            n,
            key = settings.keyring.current_id(),
            "re-encrypted provider credentials with the current key"
        ),
        Err(e) => tracing::warn!(error = %e, "could not re-encrypt provider credentials"),
    }
    match twilio {
        Some(t) => {
            tracing::info!(api = %t.api_base, account = %t.account_sid, "telephony provider: Twilio API")
        }
        None => {
            tracing::warn!("no telephony provider: set PHONEHUB_TWILIO_* or enable the sandbox")
        }
    }
}

impl Application {
    /// Connects, migrates, seeds demo data in development, binds and wires the routes.
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        let pool = pool_for(&settings)?;
        MIGRATOR.run(&pool).await?;
        if settings.seed_demo {
            match crate::seed::seed_demo(&pool).await {
                Ok(true) => tracing::info!(
                    "seeded demo data (password: {})",
                    crate::seed::DEMO_PASSWORD
                ),
                Ok(false) => {}
                Err(e) => return Err(StartError::Seed(e.to_string())),
            }
        }
        Application::build_with_pool(settings, pool).await
    }

    /// Binds `settings.site_addr` (port 0 picks a free port; a public URL with port 0 follows it).
    pub async fn build_with_pool(
        mut settings: Settings,
        pool: PgPool,
    ) -> Result<Application, StartError> {
        let listener = TcpListener::bind(settings.site_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: settings.site_addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.site_addr,
            source,
        })?;
        let metrics = bind_metrics(&settings).await?;
        if settings.public_url.port() == Some(0) {
            let _ = settings.public_url.set_port(Some(addr.port()));
        }
        settings.site_addr = addr;
        app::ssr::auth::warm_up();
        middleware::set_bundle_name(&settings.output_name);
        let sandbox = start_sandbox(&settings);
        let twilio = system_provider(&settings, sandbox.as_ref());
        prepare_provider(&pool, &settings, twilio.as_ref()).await;
        let limiter = Arc::new(crate::v1::RateLimiter::new(
            settings.api_requests_per_minute,
        ));
        // Registered before serving, so the first window already has this server's share.
        limiter.register(&pool).await;
        limiter.spawn(&pool);
        let (mut router, state, workers) = router(&settings, pool, limiter.clone())?;
        if let Some(sb) = sandbox {
            // Outside the session and origin layers: Twilio-style clients send neither cookies nor Origin.
            router = router.nest("/sandbox/twilio", telephony::sandbox::router(sb));
        }
        let router = router
            .layer(axum::middleware::from_fn_with_state(
                settings.public_url.scheme() == "https",
                middleware::security_headers,
            ))
            .layer(axum::middleware::from_fn(crate::metrics::track));
        Ok(Application {
            listener,
            router,
            addr,
            metrics,
            workers,
            state,
            limiter,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The public API's request budget (tests read how many requests reached the database).
    pub fn api_limiter(&self) -> Arc<crate::v1::RateLimiter> {
        self.limiter.clone()
    }

    /// The shared state the routes use (the hot cache, providers, the event writer).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until SIGTERM or Ctrl-C, lets in-flight requests finish, then writes every lookup
    /// event still waiting in the batch writer (each one a paid or saved lookup to attribute)
    /// and closes the pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // Set once SIGTERM (or Ctrl-C) arrives: the listeners stop accepting and the workers
        // head for a safe point while requests in flight finish.
        let (signalled, on_signal) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = signalled.send(true);
        });
        let signal = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let Some(listener) = self.metrics {
            let state = self.state.clone();
            let stop = signal(on_signal.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::metrics::serve(listener, state, stop).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        let Workers { stop, handles } = self.workers;
        let stop_workers = signal(on_signal.clone());
        tokio::spawn(async move {
            stop_workers.await;
            stop.stop();
        });
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal(on_signal.clone()));
        let drain_limit = async {
            signal(on_signal).await;
            tokio::time::sleep(SHUTDOWN_DRAIN).await;
        };
        let served = tokio::select! {
            served = serve => served,
            _ = drain_limit => {
                tracing::warn!("requests still running after {SHUTDOWN_DRAIN:?}; stopping anyway");
                Ok(())
            }
        };
        tracing::info!("stopping: letting the workers reach a safe point");
        let handles = futures::future::join_all(handles);
        if tokio::time::timeout(SHUTDOWN_FLUSH, handles).await.is_err() {
            tracing::warn!("workers still busy after {SHUTDOWN_FLUSH:?}; a running bulk job is taken over by the next server");
        }
        tracing::info!("stopping: writing the recorded lookups");
        if tokio::time::timeout(SHUTDOWN_FLUSH, self.state.events.flush())
            .await
            .is_err()
        {
            tracing::error!("lookup events not written within {SHUTDOWN_FLUSH:?}; some are lost");
        }
        // The other servers take this one's share of the API budget at once.
        let _ =
            tokio::time::timeout(SHUTDOWN_POOL, self.limiter.deregister(&self.state.pool)).await;
        if tokio::time::timeout(SHUTDOWN_POOL, self.state.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still busy after {SHUTDOWN_POOL:?}");
        }
        served
    }
}

/// How long requests in flight may run once the server is asked to stop. With the waits below,
/// a stop takes at most 10 + 10 + 10 + 5 = 35 s (the systemd unit allows 45).
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(10);
/// The most a stopping server waits for its workers, then for the database to take the last
/// lookup events.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(10);
const SHUTDOWN_POOL: Duration = Duration::from_secs(5);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// The background workers (bulk lookups, number upkeep) and how to stop them.
struct Workers {
    stop: app::ssr::shutdown::StopSender,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

/// The whole app: the pages and their forms and downloads behind the browser-session layers, then
/// the static files, the health checks, the provider's webhooks, the recorded consent
/// announcements it plays and the API; with the state the requests share and the background
/// workers it started.
fn router(
    settings: &Settings,
    pool: PgPool,
    limiter: Arc<crate::v1::RateLimiter>,
) -> Result<(Router, AppState, Workers), StartError> {
    let state = app_state(settings, pool.clone())?;
    state.hot.spawn_listener(&pool);
    state.known.spawn_listener(&pool);
    let workers = start_workers(&state);
    let auth_layer = auth_layer(settings, &pool, &state.known)?;
    let render = page_renderer(&state);
    let router = browser_routes(&state, render.clone())
        .layer(axum::middleware::from_fn_with_state(
            (render, state.known.outage.clone()),
            middleware::server_fn_forms,
        ))
        .layer(axum::middleware::from_fn(middleware::require_login))
        .layer(axum::middleware::from_fn_with_state(
            state.known.outage.clone(),
            middleware::outage_gate,
        ))
        .layer(auth_layer)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(settings.public_url.clone()),
            middleware::check_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (pool.clone(), state.known.outage.clone()),
            middleware::unavailable_page,
        ))
        .layer(crate::assets::compression())
        // Static files (compressed ahead) and health checks need neither sessions nor the app.
        .nest(
            "/pkg",
            crate::assets::routes(&settings.site_root, &settings.output_name),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(pool))
        // Signed by the provider, not a browser session.
        .merge(crate::webhooks::routes())
        // Fetched by the provider by an unguessable address, not with a browser session.
        .merge(crate::consent_files::media_routes())
        // Authenticated by an API key, not a browser session.
        .nest("/v1", crate::v1::routes(state.clone(), limiter))
        .with_state(state.clone());
    Ok((router, state, workers))
}

/// Starts the background workers (bulk lookups, number upkeep, the money worker, webhook
/// deliveries, statements, retention, texts scheduled for quiet hours), with the channel that
/// stops them.
fn start_workers(state: &AppState) -> Workers {
    let (stop, signal) = app::ssr::shutdown::channel();
    Workers {
        stop,
        handles: vec![
            app::ssr::bulk_worker::spawn_worker(state.clone(), signal.clone()),
            app::ssr::number_upkeep::spawn_number_upkeep(state.clone(), signal.clone()),
            app::ssr::alerts::spawn_money_worker(state.clone(), signal.clone()),
            app::ssr::alerts::spawn_webhook_worker(state.clone(), signal.clone()),
            app::ssr::statements::spawn_statements_worker(state.clone(), signal.clone()),
            app::ssr::retention::spawn_retention_worker(state.clone(), signal.clone()),
            app::ssr::scheduled_texts::spawn_scheduler(state.clone(), signal),
        ],
    }
}

/// Renders a page for a plain form post or upload that failed (or a one-time notice), with what
/// the page shows about it in the context.
fn page_renderer(state: &AppState) -> RenderPage {
    let state = state.clone();
    Arc::new(move |req: Request, outcome: Rerender| {
        let state = state.clone();
        let opts = state.leptos_options.clone();
        let handler = leptos_axum::render_app_async_with_context(
            move || {
                state.provide();
                match outcome.clone() {
                    Rerender::Failed(o) => provide_context(o),
                    Rerender::ShownOnce(s) => provide_context(s),
                }
            },
            move || shell(opts.clone()),
        );
        Box::pin(async move { handler(req).await })
    })
}

/// The routes a browser session uses: the pages and their server functions, the bulk upload and
/// the downloads, and the app's own not-found page for everything else.
fn browser_routes(state: &AppState, render: RenderPage) -> Router<AppState> {
    let routes = generate_route_list(App);
    let ctx_state = state.clone();
    let context = move || ctx_state.provide();
    let fallback = {
        let state = state.clone();
        let opts = state.leptos_options.clone();
        leptos_axum::render_app_async_with_context(
            move || state.provide(),
            move || shell(opts.clone()),
        )
    };
    // Registers every server function under /api/ too (with the same context).
    Router::new()
        .leptos_routes_with_context(state, routes, context, {
            let opts = state.leptos_options.clone();
            move || shell(opts.clone())
        })
        .merge(crate::bulk::routes(render.clone()))
        .merge(crate::opt_out_files::routes(render.clone()))
        .merge(crate::consent_files::routes(render))
        .merge(crate::downloads::routes())
        .merge(crate::data_requests::routes())
        .fallback(move |req: Request<Body>| {
            let fallback = fallback.clone();
            async move { fallback(req).await }
        })
}

/// What every request shares: the pool, the options pages need, providers and the event writer.
fn app_state(settings: &Settings, pool: PgPool) -> Result<AppState, StartError> {
    // Device cookies are signed with the same secret key as the session cookies.
    let passwords = app::ssr::auth::Passwords::new(
        settings.secret_key.bytes(),
        app::ssr::auth::HashGate::for_this_machine(),
    )
    .map_err(StartError::Key)?;
    let leptos_options = LeptosOptions::builder()
        .output_name(settings.output_name.clone())
        .site_root(settings.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(settings.site_addr)
        .build();
    Ok(AppState {
        pool: pool.clone(),
        leptos_options: leptos_options.clone(),
        public_url: settings.public_url.clone(),
        dev_mode: settings.environment == crate::config::Environment::Development,
        trust_proxy: settings.trust_proxy,
        job_timing: settings.job_timing,
        keyring: settings.keyring.clone(),
        providers: app::ssr::providers::Providers::new(
            settings.provider_timeout,
            settings.environment == crate::config::Environment::Development,
            settings.sandbox_url.as_ref().map(|u| u.to_string()),
            settings.aws_endpoints.clone(),
        ),
        events: app::ssr::lookup_events::EventSink::start(pool.clone()),
        hot: app::ssr::hot_cache::HotCache::default(),
        known: app::ssr::last_known::LastKnown::for_pool(&pool),
        passwords,
        clock: Default::default(),
        mailer: settings.mailer.clone(),
        dispatch: app::ssr::state::DispatchSlots::for_pool(settings.db_max_connections),
    })
}

/// Signed session cookies stored in Postgres, and the login layer on top.
fn auth_layer(
    settings: &Settings,
    pool: &PgPool,
    known: &app::ssr::last_known::LastKnown,
) -> Result<AuthManagerLayer<Backend, crate::sessions::Sessions, SignedCookie>, StartError> {
    let store = PostgresStore::new(pool.clone());
    spawn_session_cleanup(store.clone(), pool.clone());
    let store = crate::sessions::Sessions::new(store, known.outage.clone());
    let key =
        Key::try_from(settings.secret_key.bytes()).map_err(|e| StartError::Key(e.to_string()))?;
    let session_layer = SessionManagerLayer::new(store)
        .with_name("phonehub_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.public_url.scheme() == "https")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(7)))
        .with_signed(key);
    Ok(AuthManagerLayerBuilder::new(Backend::new(pool.clone(), known), session_layer).build())
}

/// Liveness: the process answers (a load balancer restarts it only when this fails).
async fn healthz() -> Response {
    (StatusCode::OK, "ok").into_response()
}

/// Readiness: the database answers within a second and has every migration this build expects.
/// Anyone can ask, so the answer is a plain "not ready"; why goes to the log.
async fn readyz(State(pool): State<PgPool>) -> Response {
    let want = MIGRATOR.iter().map(|m| m.version).max();
    let applied =
        tokio::time::timeout(Duration::from_secs(1), app::ssr::latest_migration(&pool)).await;
    match applied {
        Ok(Ok(v)) if v == want => return (StatusCode::OK, "ready").into_response(),
        Ok(Ok(v)) => tracing::warn!(
            applied = ?v,
            expected = ?want,
            "not ready: the database schema is not the one this build expects"
        ),
        Ok(Err(e)) => tracing::warn!(error = %e, "not ready: the database cannot be read"),
        Err(_) => tracing::warn!("not ready: the database did not answer within a second"),
    }
    (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
}

fn spawn_session_cleanup(store: PostgresStore, pool: PgPool) {
    use tower_sessions::ExpiredDeletion;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            if let Err(e) = app::ssr::auth::prune_attempts(&pool).await {
                tracing::warn!(error = %e, "could not forget old login attempts");
            }
        }
    });
}
