//! One `LISTEN` connection kept for the life of the process: its own pool of one (never a
//! connection taken from the requests' pool), served again after a lost connection with a
//! growing pause. The hot cache, the remembered access and the API's key list each use one.

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// Runs `serve` on a pool of one connection made with `pool`'s options until the process ends:
/// `serve` returns when its connection is lost (`Ok` for a clean drop); `lost` runs each time
/// after, before it is served again. `what` names the listener in the log ("hot cache listener").
pub fn forever<S, F>(pool: &PgPool, what: &'static str, serve: S, lost: impl Fn() + Send + 'static)
where
    S: Fn(PgPool) -> F + Send + 'static,
    F: Future<Output = Result<(), sqlx::Error>> + Send,
{
    let own = PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with(PgConnectOptions::clone(&pool.connect_options()));
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(200);
        loop {
            let result = serve(own.clone()).await;
            lost();
            match result {
                Ok(()) => wait = Duration::from_millis(200),
                Err(e) => {
                    tracing::warn!(error = %e, "{what} lost its connection");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
}
