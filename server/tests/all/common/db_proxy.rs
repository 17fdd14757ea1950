//! A TCP proxy in front of Postgres (used by the tests and by bench/outage.sh).

#![allow(dead_code)]

use sqlx::PgPool;

/// A TCP proxy in front of Postgres that the test can cut and restore. Cut, it is a black hole:
/// connections are accepted and never answered (the worst outage: nothing fails fast, every
/// wait runs to its timeout).
pub struct DbProxy {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    held: std::sync::Arc<std::sync::Mutex<Vec<tokio::net::TcpStream>>>,
}

impl DbProxy {
    pub async fn start(target: String) -> DbProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, conns2, held2) = (up.clone(), conns.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    held2.lock().unwrap().push(inbound);
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().unwrap().push(task);
            }
        });
        DbProxy {
            port,
            up,
            conns,
            held,
        }
    }

    /// A proxy in front of the test database and a pool through it, set up as the server's own
    /// (a request waits at most ACQUIRE_TIMEOUT for a connection).
    pub async fn in_front_of(pool: &PgPool) -> (DbProxy, PgPool) {
        let pg = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
        let proxy = DbProxy::start(format!(
            "{}:{}",
            pg.host_str().unwrap(),
            pg.port().unwrap_or(5432)
        ))
        .await;
        let opts = (*pool.connect_options()).clone();
        let proxied = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(server::startup::ACQUIRE_TIMEOUT)
            .connect_lazy_with(opts.host("127.0.0.1").port(proxy.port));
        (proxy, proxied)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        if up {
            self.held.lock().unwrap().clear();
        } else {
            for t in self.conns.lock().unwrap().drain(..) {
                t.abort();
            }
        }
    }
}
