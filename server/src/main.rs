//! Starts PhoneHub with the configuration from the environment.

#[tokio::main]
async fn main() {
    let settings = match server::config::Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("phonehub: configuration error: {e}");
            std::process::exit(2);
        }
    };
    server::telemetry::init(settings.environment == server::config::Environment::Production);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("admin") {
        std::process::exit(server::admin_cli::run(settings, &args[1..]).await);
    }
    let app = match server::Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("phonehub: could not start: {e}");
            std::process::exit(1);
        }
    };
    tracing::info!("PhoneHub listening on http://{}", app.local_addr());
    if let Err(e) = app.run_until_stopped().await {
        eprintln!("phonehub: server error: {e}");
        std::process::exit(1);
    }
}
