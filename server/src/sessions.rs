//! The session store: Postgres, with the sessions this server read in the last
//! `app::ssr::last_known::KEEP` remembered, so a signed-in member's reads can still be answered
//! (from the hot cache) while the database cannot be reached. Writes always need the database:
//! nobody signs in or out of a remembered session.

use app::ssr::outage::Outage;
use async_trait::async_trait;
use moka::sync::Cache;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

#[derive(Clone)]
pub struct Sessions {
    store: PostgresStore,
    kept: Cache<Id, Record>,
    outage: Outage,
}

impl Sessions {
    /// `outage`: the app state's (`state.known.outage`), so a request that finds the database
    /// away spares the next ones the wait.
    pub fn new(store: PostgresStore, outage: Outage) -> Self {
        Sessions {
            store,
            outage,
            kept: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(app::ssr::last_known::KEEP)
                .build(),
        }
    }
}

/// Records hold the user's id and session hash: never printed.
impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("remembered", &self.kept.entry_count())
            .finish()
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await?;
        self.kept.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await?;
        self.kept.insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        // The store's errors are strings: whether the database is away is the probe's answer.
        let read = if self.outage.down().await {
            Err(session_store::Error::Backend("database unreachable".into()))
        } else {
            match self.store.load(id).await {
                Err(e) if !self.outage.confirm().await => return Err(e),
                read => read,
            }
        };
        match read {
            Ok(Some(record)) => {
                self.kept.insert(*id, record.clone());
                Ok(Some(record))
            }
            Ok(None) => {
                self.kept.invalidate(id);
                Ok(None)
            }
            Err(e) => {
                let now = time::OffsetDateTime::now_utc();
                match self.kept.get(id).filter(|r| r.expiry_date > now) {
                    Some(record) => {
                        metrics::counter!("phonehub_last_known_answers_total").increment(1);
                        Ok(Some(record))
                    }
                    None => Err(e),
                }
            }
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.kept.invalidate(id);
        self.store.delete(id).await
    }
}
