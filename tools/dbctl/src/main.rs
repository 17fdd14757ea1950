//! Creates the PhoneHub database if missing and applies `migrations/`; `make` runs it before
//! compiling, because `sqlx::query!` checks every query against the migrated schema.

use sqlx::migrate::MigrateDatabase;
use sqlx::Postgres;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = match std::env::var("DATABASE_URL") {
        Ok(u) => u,
        Err(_) => {
            eprintln!("dbctl: DATABASE_URL is not set");
            std::process::exit(2);
        }
    };
    let cmd = std::env::args().nth(1).unwrap_or_else(|| "migrate".into());
    if let Err(e) = run(&cmd, &url).await {
        eprintln!("dbctl {cmd}: {e}");
        std::process::exit(1);
    }
}

async fn run(cmd: &str, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    match cmd {
        "migrate" => {
            if !Postgres::database_exists(url).await? {
                Postgres::create_database(url).await?;
            }
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await?;
            sqlx::migrate!("../../migrations").run(&pool).await?;
            Ok(())
        }
        "reset" => {
            if Postgres::database_exists(url).await? {
                Postgres::drop_database(url).await?;
            }
            Box::pin(run("migrate", url)).await
        }
        other => Err(format!("unknown command {other:?} (migrate | reset)").into()),
    }
}
