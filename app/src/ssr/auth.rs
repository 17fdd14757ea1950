//! Users, argon2id password hashing (through a bounded gate), device cookies and the axum-login
//! backend.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum_login::{AuthUser, AuthnBackend, UserId};
use sqlx::PgPool;

use super::db;
/// The user as stored lives with its rows (`db::users`), below this module and `last_known`; it is
/// named here too, as the sessions' user.
pub use super::db::users::User;
use crate::error::AppError;

impl AuthUser for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
    /// A password change alters the hash, which ends every other session of this user.
    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

#[derive(Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("password hashing task failed")]
    Task,
    /// Every hashing slot is taken (see `HashGate`); nothing was checked.
    #[error("password hashing is at capacity")]
    Busy,
}

/// What a request hears when every hashing slot is taken.
pub const BUSY: &str =
    "PhoneHub is busy checking other passwords. Please try again in a few seconds.";

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Db(e) => e.into(),
            AuthError::Task => AppError::Internal,
            AuthError::Busy => AppError::TooManyRequests(BUSY.into()),
        }
    }
}

#[derive(Clone)]
pub struct Backend {
    pool: PgPool,
    /// Users last read, for while the database cannot be reached (see `last_known`).
    users: super::last_known::Recall<i64, Option<User>>,
}

impl Backend {
    /// `known`: the same last-known answers as the app state's (see `last_known`).
    pub fn new(pool: PgPool, known: &super::last_known::LastKnown) -> Self {
        Backend {
            pool,
            users: known.users.clone(),
        }
    }
}

pub type AuthSession = axum_login::AuthSession<Backend>;

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19_456, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Verified against when the e-mail is unknown, so that costs the same as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("phonehub dummy password").unwrap_or_default());

fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Task)
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hashes through the gate (see `gated`): `AuthError::Busy` when every slot is taken.
pub async fn hash_password(password: String) -> Result<String, AuthError> {
    gated(move || hash_blocking(&password)).await?
}

/// Verifies through the gate (see `gated`): `AuthError::Busy` when every slot is taken.
pub async fn verify_password(password: String, phc: String) -> Result<bool, AuthError> {
    gated(move || verify_blocking(&password, &phc)).await
}

/// Checks `current` against `phc` and, only if it is right, hashes `new_password`: both in one
/// slot, so a right password cannot be refused half-way for want of a second one.
/// `Ok(None)`: `current` is wrong.
pub async fn verify_then_hash(
    current: String,
    phc: String,
    new_password: String,
) -> Result<Option<String>, AuthError> {
    gated(move || {
        if !verify_blocking(&current, &phc) {
            return Ok(None);
        }
        hash_blocking(&new_password).map(Some)
    })
    .await?
}

/// Each argon2 run takes 19 MiB and a core for a good fraction of a second: unbounded, a few hundred
/// parallel logins or password changes exhaust the machine (and Postgres beside it). So every run
/// takes a slot of a `HashGate`, about one per core. A request that finds them all taken waits in a
/// small waiting room (`WAITING_PER_SLOT` places per slot: a moment's burst of logins is served,
/// not refused); when that is full too it is refused at once (`AuthError::Busy`, 429). The work
/// queued is bounded either way, and a waiting request holds no argon2 memory.
#[derive(Clone)]
pub struct HashGate(Arc<GateInner>);

/// Places in a gate's waiting room per slot.
pub const WAITING_PER_SLOT: usize = 4;

struct GateInner {
    slots: Arc<tokio::sync::Semaphore>,
    capacity: usize,
    max_waiting: usize,
    waiting: AtomicUsize,
    in_flight: AtomicUsize,
    high_water: AtomicUsize,
}

/// A taken slot; it frees itself when dropped. It travels into the blocking task with the hashing
/// itself, so a request whose client went away keeps it until argon2 has really finished.
pub struct HashSlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    gate: Arc<GateInner>,
}

impl Drop for HashSlot {
    fn drop(&mut self) {
        self.gate.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A place in the waiting room, given back when dropped (also when the request is dropped while
/// it waits).
struct WaitingPlace(Arc<GateInner>);

impl Drop for WaitingPlace {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashGate {
    /// A gate of `capacity` slots (at least one) and `WAITING_PER_SLOT` places per slot.
    pub fn new(capacity: usize) -> HashGate {
        let capacity = capacity.max(1);
        HashGate(Arc::new(GateInner {
            slots: Arc::new(tokio::sync::Semaphore::new(capacity)),
            capacity,
            max_waiting: capacity * WAITING_PER_SLOT,
            waiting: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            high_water: AtomicUsize::new(0),
        }))
    }

    /// One slot per core this process may use (cgroup CPU limits included).
    pub fn for_this_machine() -> HashGate {
        HashGate::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    pub fn capacity(&self) -> usize {
        self.0.capacity
    }

    /// Places in the waiting room.
    pub fn max_waiting(&self) -> usize {
        self.0.max_waiting
    }

    /// Requests waiting for a slot right now.
    pub fn waiting(&self) -> usize {
        self.0.waiting.load(Ordering::SeqCst)
    }

    /// Slots taken right now.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::SeqCst)
    }

    /// The most slots ever taken at once (since the last `reset_high_water`): what the tests and
    /// an operator read to see the bound hold.
    pub fn high_water(&self) -> usize {
        self.0.high_water.load(Ordering::SeqCst)
    }

    /// Starts the high-water mark again from the slots taken now.
    pub fn reset_high_water(&self) {
        self.0.high_water.store(self.in_flight(), Ordering::SeqCst);
    }

    /// Takes a slot if one is free, else `AuthError::Busy` at once (no waiting; the tests also
    /// hold slots with it).
    pub fn try_enter(&self) -> Result<HashSlot, AuthError> {
        let permit = self
            .0
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| AuthError::Busy)?;
        Ok(self.taken(permit))
    }

    /// Takes a slot: at once if one is free, else after a wait in the waiting room, else (the room
    /// is full) `AuthError::Busy` at once.
    pub async fn enter(&self) -> Result<HashSlot, AuthError> {
        if let Ok(slot) = self.try_enter() {
            return Ok(slot);
        }
        let place = WaitingPlace(self.0.clone());
        if self.0.waiting.fetch_add(1, Ordering::SeqCst) >= self.0.max_waiting {
            // Dropping the place gives back the count just taken.
            return Err(AuthError::Busy);
        }
        let permit = self.wait_for_permit().await;
        drop(place);
        Ok(self.taken(permit?))
    }

    /// Waits for a slot however long the queue: for work an operator started (the command line,
    /// the demo seed), never for a request.
    async fn enter_unbounded(&self) -> Result<HashSlot, AuthError> {
        let permit = self.wait_for_permit().await?;
        Ok(self.taken(permit))
    }

    async fn wait_for_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AuthError> {
        // The semaphore is never closed; an error would mean it was.
        self.0
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AuthError::Task)
    }

    fn taken(&self, permit: tokio::sync::OwnedSemaphorePermit) -> HashSlot {
        let now = self.0.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.high_water.fetch_max(now, Ordering::SeqCst);
        HashSlot {
            _permit: permit,
            gate: self.0.clone(),
        }
    }
}

/// The gate for hashing outside any request (no `HashGate` in the Leptos context).
static PROCESS_GATE: LazyLock<HashGate> = LazyLock::new(HashGate::for_this_machine);

/// Runs argon2 `work` on a blocking thread holding a slot of the gate. In a request that is the
/// app's own gate (put in the Leptos context with the app's state by `AppState::provide`; each app
/// in the tests has its own), which refuses when its waiting room is full; outside one (`phonehub
/// admin`, the demo seed) the process's gate, waited for as long as it takes.
async fn gated<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    let gate = leptos::prelude::use_context::<HashGate>();
    let slot = match gate {
        Some(gate) => gate.enter().await?,
        None => PROCESS_GATE.enter_unbounded().await?,
    };
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|_| AuthError::Task)
}

/// A wait for people to read: "40 seconds", "1 minute", "15 minutes" (rounded up).
pub fn wait_text(secs: i64) -> String {
    let secs = secs.max(1);
    if secs < 60 {
        let unit = if secs == 1 { "second" } else { "seconds" };
        return format!("{secs} {unit}");
    }
    let minutes = (secs + 59) / 60;
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("{minutes} {unit}")
}

/// The name of the cookie that marks a browser someone signed in with (see `Passwords`).
pub const DEVICE_COOKIE: &str = "phonehub_device";
/// How long a device cookie vouches for its browser (each successful login renews it).
pub const DEVICE_DAYS: i64 = 90;
/// What the signed value starts with: nothing else this key signs (session ids) can pass for it.
const DEVICE_PREFIX: &str = "device.v1.";

/// Password hashing's gate, and the key that signs device cookies.
///
/// A device cookie is set on every successful login: signed (HMAC-SHA256) with the server's
/// secret key, it names the user and when they signed in. A login from that browser for that user
/// is exempt from the per-e-mail and per-address limits (which strangers can run up), never from the
/// per-(e-mail, address) one (see `db::logins`).
#[derive(Clone)]
pub struct Passwords {
    pub gate: HashGate,
    device_key: tower_sessions::cookie::Key,
}

impl Passwords {
    /// `secret_key`: the server's secret key (at least 64 bytes, as for the session cookies).
    pub fn new(secret_key: &[u8], gate: HashGate) -> Result<Passwords, String> {
        let device_key =
            tower_sessions::cookie::Key::try_from(secret_key).map_err(|e| e.to_string())?;
        Ok(Passwords { gate, device_key })
    }

    /// A random key and a gate sized to this machine: for tests and benchmarks that build an
    /// `AppState` themselves.
    pub fn ephemeral() -> Passwords {
        Passwords {
            gate: HashGate::for_this_machine(),
            device_key: tower_sessions::cookie::Key::generate(),
        }
    }

    /// The `Set-Cookie` value that marks this browser as one `user_id` signed in with now.
    pub fn device_cookie(&self, user_id: i64, secure: bool) -> String {
        use tower_sessions::cookie::{Cookie, CookieJar, SameSite};
        let issued = time::OffsetDateTime::now_utc().unix_timestamp();
        let cookie = Cookie::build((DEVICE_COOKIE, format!("{DEVICE_PREFIX}{user_id}.{issued}")))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(DEVICE_DAYS))
            .build();
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.device_key).add(cookie);
        jar.get(DEVICE_COOKIE)
            .map(|c| c.to_string())
            .unwrap_or_default()
    }

    /// The user a request's device cookie names, if its signature holds and it is not too old.
    pub fn device_user(&self, headers: &http::HeaderMap) -> Option<i64> {
        self.device(headers).map(|(user, _)| user)
    }

    /// The user a request's device cookie names and when it was issued (Unix seconds): a cookie
    /// issued before the user's password last changed vouches for nobody (`db::logins::reserve`).
    pub fn device(&self, headers: &http::HeaderMap) -> Option<(i64, i64)> {
        use tower_sessions::cookie::{Cookie, CookieJar};
        let raw = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == DEVICE_COOKIE)
            .map(|(_, value)| value.to_string())?;
        let verified = CookieJar::new()
            .signed(&self.device_key)
            .verify(Cookie::new(DEVICE_COOKIE, raw))?;
        let (user, issued) = verified
            .value()
            .strip_prefix(DEVICE_PREFIX)?
            .split_once('.')?;
        let (user, issued): (i64, i64) = (user.parse().ok()?, issued.parse().ok()?);
        let age = time::OffsetDateTime::now_utc().unix_timestamp() - issued;
        // A little skew between servers is fine; a date far ahead is not one we wrote.
        (-300..=DEVICE_DAYS * 86_400)
            .contains(&age)
            .then_some((user, issued))
    }
}

/// Computes the dummy hash up front so the first unknown-e-mail login is not faster or slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = AuthError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, AuthError> {
        let user = db::users::by_email(&self.pool, &creds.email).await?;
        let phc = match &user {
            Some(u) => u.password_hash.clone(),
            None => DUMMY_HASH.clone(),
        };
        let ok = verify_password(creds.password, phc).await?;
        Ok(user.filter(|_| ok))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, AuthError> {
        Ok(self
            .users
            .read(*id, db::users::by_id(&self.pool, *id))
            .await?)
    }
}

/// Forgets login attempts and password checks older than a day (hourly, with the sessions).
pub async fn prune_attempts(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    super::db::logins::prune(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_chosen_cost_and_verify() {
        let h = hash_blocking("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct horse battery", &h));
        assert!(!verify_blocking("wrong", &h));
        assert!(!verify_blocking("anything", "not a phc string"));
    }

    #[test]
    fn debug_never_prints_the_hash() {
        let u = User {
            id: 1,
            email: "a@b.test".into(),
            name: String::new(),
            is_support: false,
            is_superadmin: false,
            password_hash: "$argon2id$secret".into(),
            must_change_password: false,
        };
        let printed = format!("{u:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[tokio::test]
    async fn a_full_waiting_room_refuses_at_once() {
        let gate = HashGate::new(1);
        let held = gate.try_enter().unwrap();
        let waiters: Vec<_> = (0..gate.max_waiting())
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.enter().await.map(drop) })
            })
            .collect();
        while gate.waiting() < gate.max_waiting() {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.enter().await, Err(AuthError::Busy)));
        assert_eq!(gate.waiting(), gate.max_waiting());
        drop(held);
        for w in waiters {
            assert!(w.await.unwrap().is_ok());
        }
        assert_eq!(
            (gate.waiting(), gate.in_flight(), gate.high_water()),
            (0, 0, 1)
        );
    }

    #[test]
    fn a_full_gate_refuses_at_once_and_counts_its_high_water() {
        let gate = HashGate::new(2);
        let a = gate.try_enter().unwrap();
        let b = gate.try_enter().unwrap();
        assert!(matches!(gate.try_enter(), Err(AuthError::Busy)));
        assert_eq!((gate.in_flight(), gate.high_water()), (2, 2));
        drop(a);
        assert_eq!((gate.in_flight(), gate.high_water()), (1, 2));
        gate.reset_high_water();
        assert_eq!(gate.high_water(), 1);
        let c = gate.try_enter().unwrap();
        drop((b, c));
        assert_eq!((gate.in_flight(), gate.high_water()), (0, 2));
        assert_eq!(HashGate::new(0).capacity(), 1);
    }

    #[test]
    fn the_busy_answer_is_a_clear_429() {
        let e = AppError::from(AuthError::Busy);
        assert_eq!(e.status(), 429);
        assert_eq!(e.to_string(), BUSY);
    }

    fn cookie_header(set_cookie: &str) -> http::HeaderMap {
        let pair = set_cookie.split(';').next().unwrap();
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            http::HeaderValue::from_str(&format!("phonehub_session=abc; {pair}; other=1")).unwrap(),
        );
        h
    }

    #[test]
    fn device_cookies_name_their_user_and_cannot_be_forged() {
        let p = Passwords::new(&[7u8; 64], HashGate::new(1)).unwrap();
        let set = p.device_cookie(42, true);
        assert!(set.starts_with("phonehub_device="), "{set}");
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=7776000",
        ] {
            assert!(set.contains(attr), "{attr}: {set}");
        }
        assert_eq!(p.device_user(&cookie_header(&set)), Some(42));
        // Another key (another server), an edited user id, no cookie at all: nobody.
        let other = Passwords::new(&[8u8; 64], HashGate::new(1)).unwrap();
        assert_eq!(other.device_user(&cookie_header(&set)), None);
        let edited = set.replacen("device.v1.42.", "device.v1.43.", 1);
        assert_ne!(edited, set);
        assert_eq!(p.device_user(&cookie_header(&edited)), None);
        assert_eq!(p.device_user(&http::HeaderMap::new()), None);
        assert!(Passwords::new(&[7u8; 16], HashGate::new(1)).is_err());
    }

    #[test]
    fn old_device_cookies_vouch_for_nobody() {
        use tower_sessions::cookie::{Cookie, CookieJar, Key};
        let key = [9u8; 64];
        let p = Passwords::new(&key, HashGate::new(1)).unwrap();
        let signed = |issued: i64| {
            let mut jar = CookieJar::new();
            jar.signed_mut(&Key::from(&key))
                .add(Cookie::new(DEVICE_COOKIE, format!("device.v1.5.{issued}")));
            jar.get(DEVICE_COOKIE).unwrap().to_string()
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(
            p.device_user(&cookie_header(&signed(now - 86_400))),
            Some(5)
        );
        let too_old = now - (DEVICE_DAYS + 1) * 86_400;
        assert_eq!(p.device_user(&cookie_header(&signed(too_old))), None);
        assert_eq!(p.device_user(&cookie_header(&signed(now + 86_400))), None);
    }

    #[test]
    fn waits_read_in_seconds_then_whole_minutes() {
        assert_eq!(wait_text(0), "1 second");
        assert_eq!(wait_text(40), "40 seconds");
        assert_eq!(wait_text(60), "1 minute");
        assert_eq!(wait_text(61), "2 minutes");
        assert_eq!(wait_text(900), "15 minutes");
    }
}
