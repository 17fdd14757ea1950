//! moto (`moto[server]` from PyPI, installed by `scripts/moto.sh`), a real AWS-compatible mock:
//! started on a free port for a test and killed when dropped. Shared with the server's tests
//! (`server/tests/common/mod.rs` includes this file).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto_server, killed (and reaped) when dropped.
pub struct Moto {
    child: Child,
    pub base: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs moto if needed (`scripts/moto.sh path`) and starts it on a free port, waiting (bounded)
/// until it answers; also how long that took. Fails, never skips, when moto cannot be had.
pub async fn start_moto() -> (Moto, Duration) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("scripts/moto.sh"))
        .arg("path")
        .current_dir(&root)
        .output()
        .expect("run scripts/moto.sh");
    assert!(
        out.status.success(),
        "scripts/moto.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        std::path::Path::new(&bin).exists(),
        "no moto_server at {bin}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = started + Duration::from_secs(60);
    let http = reqwest::Client::new();
    while Instant::now() < deadline {
        let up = http
            .get(format!("{}/moto-api/", moto.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok();
        if up {
            return (moto, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer within 60 s");
}
