//! Twilio's webhooks: the one table of their routes, and the signature check whose `Verified` is the only way to read a request.

use telephony::{signature, E164};

use super::db;
use super::AppState;

/// Every webhook we serve: mounted from this table and named in the callback URLs we give the
/// provider, so the two cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// An inbound call to an owned number (TwiML answer).
    Voice,
    /// A click-to-call's first leg was answered (TwiML answer).
    Connect,
    /// A call's status changed.
    Status,
    /// A call's recording is ready.
    Recording,
    /// A recorded click-to-call's called party answered: what they hear before being connected
    /// (TwiML answer).
    Announce,
    /// An inbound SMS to an owned number (TwiML answer).
    Sms,
    /// An outbound SMS's delivery status changed.
    SmsStatus,
}

impl Hook {
    /// Every webhook path starts with this (their POSTs come from the provider, not browsers).
    pub const PREFIX: &'static str = "/webhooks/";

    pub const ALL: [Hook; 7] = [
        Hook::Voice,
        Hook::Connect,
        Hook::Status,
        Hook::Recording,
        Hook::Announce,
        Hook::Sms,
        Hook::SmsStatus,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Hook::Voice => "/webhooks/twilio/voice",
            Hook::Connect => "/webhooks/twilio/connect",
            Hook::Status => "/webhooks/twilio/status",
            Hook::Recording => "/webhooks/twilio/recording",
            Hook::Announce => "/webhooks/twilio/announce",
            Hook::Sms => "/webhooks/twilio/sms",
            Hook::SmsStatus => "/webhooks/twilio/sms-status",
        }
    }

    pub fn from_path(path: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.path() == path)
    }

    /// The query parameter that binds a callback to its row (covered by the signature).
    fn row_param(self) -> Option<&'static str> {
        match self {
            Hook::Connect | Hook::Status | Hook::Recording | Hook::Announce => Some("call"),
            Hook::SmsStatus => Some("msg"),
            Hook::Voice | Hook::Sms => None,
        }
    }

    /// The public URL of this webhook.
    pub fn url(self, public_url: &url::Url) -> String {
        format!(
            "{}{}",
            public_url.as_str().trim_end_matches('/'),
            self.path()
        )
    }

    /// The public URL of this webhook for one call or message (`?call=` / `?msg=`).
    pub fn url_for(self, public_url: &url::Url, row_id: i64) -> String {
        match self.row_param() {
            Some(p) => format!("{}?{p}={row_id}", self.url(public_url)),
            None => self.url(public_url),
        }
    }
}

/// Why a webhook was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Unknown number or call (404).
    #[error("unknown number, call or message")]
    Unknown,
    /// Missing or wrong signature (403).
    #[error("missing or invalid signature")]
    BadSignature,
    /// The database failed (503: the provider retries).
    #[error("the database failed")]
    Unavailable(#[from] sqlx::Error),
}

/// A webhook request as it arrived: nothing in it is believed until `verify` checks it.
pub struct Unverified {
    url: String,
    params: Vec<(String, String)>,
    signature: Option<String>,
    /// `X-Twilio-Webhooks-Signature-Settings`: present when a shared key signed the request.
    settings: Option<String>,
}

impl Unverified {
    /// `url` is the public URL the provider signed (with the query), `body` the form body,
    /// `signature` and `settings` the `X-Twilio-Signature` and
    /// `X-Twilio-Webhooks-Signature-Settings` headers.
    pub fn new(
        url: String,
        body: &[u8],
        signature: Option<String>,
        settings: Option<String>,
    ) -> Unverified {
        Unverified {
            url,
            params: url::form_urlencoded::parse(body).into_owned().collect(),
            signature,
            settings,
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }
}

/// The row a verified webhook is about, found before its signature was checked (the row names
/// the configuration whose token signs it).
pub enum Owner {
    /// The owned number an inbound call was made to.
    VoiceNumber {
        e164: E164,
        number: db::calls::InboundNumber,
    },
    /// The owned number an inbound SMS was sent to.
    SmsNumber {
        e164: E164,
        number: db::sms::InboundNumber,
    },
    Call(db::calls::CallRef),
    Message {
        id: i64,
        config_id: Option<i64>,
    },
}

/// A webhook whose signature checked out with the token of the configuration owning its row.
/// Only `verify` makes one, so a handler taking it cannot skip the check.
pub struct Verified {
    hook: Hook,
    url: String,
    params: Vec<(String, String)>,
    owner: Owner,
}

impl Verified {
    pub fn hook(&self) -> Hook {
        self.hook
    }

    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.url.split_once('?')?.1;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn query(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Finds the row the webhook is about (unknown: 404), then checks the signature with the auth
/// token of that row's configuration (403).
#[tracing::instrument(skip_all, err(level = "warn"), fields(hook = ?hook))]
pub async fn verify(state: &AppState, hook: Hook, req: Unverified) -> Result<Verified, Refused> {
    let owner = find_owner(state, hook, &req).await?;
    let config_id = match &owner {
        Owner::VoiceNumber { number, .. } => number.config_id,
        Owner::SmsNumber { number, .. } => number.config_id,
        Owner::Call(c) => c.config_id,
        Owner::Message { config_id, .. } => *config_id,
    };
    check_signature(state, config_id, &req).await?;
    Ok(Verified {
        hook,
        url: req.url,
        params: req.params,
        owner,
    })
}

async fn find_owner(state: &AppState, hook: Hook, req: &Unverified) -> Result<Owner, Refused> {
    let pool = &state.pool;
    match hook {
        Hook::Voice => {
            let e164 = called_number(req)?;
            let number = db::calls::inbound_number(pool, &e164)
                .await?
                .ok_or(Refused::Unknown)?;
            Ok(Owner::VoiceNumber { e164, number })
        }
        Hook::Sms => {
            let e164 = called_number(req)?;
            let number = db::sms::inbound_number(pool, &e164)
                .await?
                .ok_or(Refused::Unknown)?;
            Ok(Owner::SmsNumber { e164, number })
        }
        Hook::Connect | Hook::Status | Hook::Recording => find_call(state, req, "CallSid").await,
        // Asked for the dialled leg (its own CallSid), whose parent is our call.
        Hook::Announce => find_call(state, req, "ParentCallSid").await,
        Hook::SmsStatus => {
            let id: i64 = query(&req.url, "msg")
                .and_then(|m| m.parse().ok())
                .ok_or(Refused::Unknown)?;
            let sid = req.param("MessageSid").unwrap_or("");
            let m = db::sms::message_ref(pool, id)
                .await?
                .ok_or(Refused::Unknown)?;
            if sid.is_empty() || m.provider_sid.as_deref().is_some_and(|s| s != sid) {
                return Err(Refused::Unknown);
            }
            Ok(Owner::Message {
                id,
                config_id: m.config_id,
            })
        }
    }
}

/// The number called or texted (`To`); one that is not a phone number is none of ours.
fn called_number(req: &Unverified) -> Result<E164, Refused> {
    E164::parse(req.param("To").unwrap_or(""), None).map_err(|_| Refused::Unknown)
}

/// The call a callback is about: by its `?call=` id (or else by the sid), whose provider sid must
/// be the request's `sid_param` (`CallSid`, or `ParentCallSid` for a dialled leg's request).
async fn find_call(state: &AppState, req: &Unverified, sid_param: &str) -> Result<Owner, Refused> {
    let sid = req.param(sid_param).unwrap_or("");
    let found = match query(&req.url, "call") {
        Some(id) => {
            let id: i64 = id.parse().map_err(|_| Refused::Unknown)?;
            db::calls::call_ref_by_id(&state.pool, id).await?
        }
        None => db::calls::call_ref_by_sid(&state.pool, sid).await?,
    };
    let call = found.ok_or(Refused::Unknown)?;
    // A callback for another call (e.g. the dialled leg) is not this row's.
    if call.provider_sid.as_deref().is_some_and(|s| s != sid) || sid.is_empty() {
        return Err(Refused::Unknown);
    }
    Ok(Owner::Call(call))
}

/// Checks the signature of a webhook for configuration `config_id`: without a settings header,
/// HMAC-SHA1 with its auth token; with `algorithm=HMAC_SHA256` and a key id the configuration
/// holds, HMAC-SHA256 with that key's secret. Any other settings (an unknown key or algorithm)
/// are refused, never tried against the auth token.
async fn check_signature(
    state: &AppState,
    config_id: Option<i64>,
    req: &Unverified,
) -> Result<(), Refused> {
    let Some(id) = config_id else {
        return Err(Refused::Unknown);
    };
    let cfg = db::phone_config::by_id(&state.pool, id)
        .await?
        .ok_or(Refused::Unknown)?;
    // Only Twilio (and its sandbox) sends these webhooks: another provider's secret never
    // verifies one.
    if !cfg.provider.speaks_twilio() {
        tracing::warn!(config_id = id, provider = %cfg.provider, "webhook for a configuration that is not Twilio's");
        return Err(Refused::BadSignature);
    }
    let sig = req.signature.as_deref().ok_or(Refused::BadSignature)?;
    let payload = signature::Payload::Form(&req.params);
    let Some(header) = req.settings.as_deref() else {
        let token = cfg
            .sealed_token()
            .and_then(|s| state.keyring.decrypt(&s).ok())
            .ok_or(Refused::BadSignature)?;
        return if signature::validate(&token, &req.url, payload, sig) {
            Ok(())
        } else {
            Err(Refused::BadSignature)
        };
    };
    let settings = signature::parse_settings(header);
    let algorithm = settings
        .algorithm
        .as_deref()
        .and_then(signature::Algorithm::from_name);
    let (Some(signature::Algorithm::HmacSha256), Some(key_id)) = (algorithm, settings.key) else {
        tracing::warn!(
            config_id = id,
            "webhook signature settings name no shared key or an unknown algorithm"
        );
        return Err(Refused::BadSignature);
    };
    let keys = db::phone_config::signing_keys(&state.pool, id).await?;
    let Some(key) = keys.iter().find(|k| k.key_id == key_id) else {
        tracing::warn!(
            config_id = id,
            "webhook signed with a shared key this configuration does not hold"
        );
        return Err(Refused::BadSignature);
    };
    let secret = state
        .keyring
        .decrypt(&key.secret)
        .map_err(|_| Refused::BadSignature)?;
    if !signature::validate_with(
        signature::Algorithm::HmacSha256,
        &secret,
        &req.url,
        payload,
        sig,
    ) {
        return Err(Refused::BadSignature);
    }
    if let Err(e) = db::phone_config::touch_signing_key(&state.pool, key.id).await {
        tracing::warn!(error = %e, "noting a signing key's use failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_is_found_by_its_path_and_urls_bind_rows() {
        for h in Hook::ALL {
            assert_eq!(Hook::from_path(h.path()), Some(h));
            assert!(h.path().starts_with(Hook::PREFIX));
        }
        let base = url::Url::parse("https://ph.example/").unwrap();
        assert_eq!(
            Hook::Connect.url_for(&base, 7),
            "https://ph.example/webhooks/twilio/connect?call=7"
        );
        assert_eq!(
            Hook::SmsStatus.url_for(&base, 3),
            "https://ph.example/webhooks/twilio/sms-status?msg=3"
        );
        assert_eq!(
            Hook::Voice.url(&base),
            "https://ph.example/webhooks/twilio/voice"
        );
    }
}
