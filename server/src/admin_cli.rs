//! `phonehub admin …`: operator commands run beside the server, such as creating the first
//! superadmin of a production install (which seeds no accounts).

use std::io::{BufRead, IsTerminal, Write};

use app::ssr::auth::hash_password;

use crate::config::Settings;

const USAGE: &str = "usage: phonehub admin create-superadmin --email <address> [--name <name>]\n\
    The password is read from standard input (one line), or asked for at a terminal.";

/// Runs `args` (after `admin`); returns the process exit code.
pub async fn run(settings: Settings, args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        Some("create-superadmin") => match create_superadmin(settings, &args[1..]).await {
            Ok(email) => {
                println!("phonehub: {email} is a superadmin now; sign in at /login.");
                0
            }
            Err(e) => {
                eprintln!("phonehub: {e}");
                1
            }
        },
        _ => {
            eprintln!("{USAGE}");
            2
        }
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn read_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password for the new superadmin (input is shown; prefer piping it in): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("could not read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn create_superadmin(settings: Settings, args: &[String]) -> Result<String, String> {
    let email = flag(args, "--email").ok_or_else(|| USAGE.to_string())?;
    let email = app::model::parse_email("email", &email).map_err(|e| e.to_string())?;
    let name = flag(args, "--name").unwrap_or_else(|| "Superadmin".into());
    let name = app::model::parse_name("name", &name, true).map_err(|e| e.to_string())?;
    let password = read_password()?;
    app::model::check_new_password("password", &password).map_err(|e| e.to_string())?;
    let pool = crate::startup::pool_for(&settings).map_err(|e| e.to_string())?;
    crate::startup::MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| format!("could not migrate the database: {e}"))?;
    let hash = hash_password(password)
        .await
        .map_err(|e| format!("could not hash the password: {e}"))?;
    let made = app::ssr::admin::create_superadmin_by_command(&pool, &email, &name, &hash)
        .await
        .map_err(|e| e.to_string())?;
    if !made {
        return Err(format!(
            "{email} already has an account; nothing was changed."
        ));
    }
    Ok(email)
}
