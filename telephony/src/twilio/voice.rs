//! Calls, recordings and messages through Twilio's api v2010: placing and following calls,
//! fetching, streaming and deleting recordings, sending texts and redacting their bodies.

use async_trait::async_trait;
use reqwest::Method;

use super::{encode, push, Repeat, TwilioClient};
use crate::http;
use crate::models::{Call, Message, Recording};
use crate::provider::{
    ByteRange, ContentRange, Media, Messaging, NewCall, NewMessage, ProviderError, Voice,
};

/// The longest SID accepted (Twilio's are 34 characters).
const MAX_SID_LEN: usize = 64;

/// Refuses, before anything is sent, a SID that cannot be one of Twilio's `kind` (its SIDs begin
/// with one of `prefixes`): anything but ASCII letters and digits after the prefix, or longer
/// than [`MAX_SID_LEN`]. The SID is not repeated in the error (it may be anything a caller typed).
fn check_sid(sid: &str, prefixes: &[&str], kind: &str) -> Result<(), ProviderError> {
    let shaped = sid.len() <= MAX_SID_LEN
        && prefixes
            .iter()
            .any(|p| sid.len() > p.len() && sid.starts_with(p))
        && sid.bytes().all(|b| b.is_ascii_alphanumeric());
    if shaped {
        return Ok(());
    }
    Err(ProviderError::Rejected {
        status: 400,
        code: None,
        message: format!(
            "Not a {kind} SID: it begins with {} and has only letters and digits.",
            prefixes.join(" or ")
        ),
        more_info: None,
    })
}

#[async_trait]
impl Voice for TwilioClient {
    async fn create_call(&self, call: &NewCall) -> Result<Call, ProviderError> {
        let mut form = vec![
            ("To".to_string(), call.to.clone()),
            ("From".to_string(), call.from.clone()),
            ("Url".to_string(), call.url.clone()),
        ];
        push(&mut form, "StatusCallback", &call.status_callback);
        for ev in &call.status_callback_events {
            form.push(("StatusCallbackEvent".into(), ev.clone()));
        }
        if call.record {
            form.push(("Record".into(), "true".into()));
        }
        if let Some(limit) = call.time_limit_secs {
            form.push(("TimeLimit".into(), limit.to_string()));
        }
        push(
            &mut form,
            "RecordingStatusCallback",
            &call.recording_status_callback,
        );
        let res = self
            .send(
                Method::POST,
                &self.account_url("/Calls.json"),
                &form,
                Repeat::Never,
            )
            .await?;
        Self::json(res).await
    }

    async fn fetch_call(&self, sid: &str) -> Result<Call, ProviderError> {
        let url = self.account_url(&format!("/Calls/{}.json", encode(sid)));
        Self::json(self.send(Method::GET, &url, &[], Repeat::Safe).await?).await
    }

    async fn list_recordings(
        &self,
        call_sid: Option<&str>,
    ) -> Result<Vec<Recording>, ProviderError> {
        let url = match call_sid {
            Some(c) => self.account_url(&format!(
                "/Calls/{}/Recordings.json?PageSize=100",
                encode(c)
            )),
            None => self.account_url("/Recordings.json?PageSize=100"),
        };
        self.all_pages(url, "recordings", 100).await
    }

    async fn fetch_recording(&self, sid: &str) -> Result<Recording, ProviderError> {
        let url = self.account_url(&format!("/Recordings/{}.json", encode(sid)));
        Self::json(self.send(Method::GET, &url, &[], Repeat::Safe).await?).await
    }

    async fn recording_media(
        &self,
        sid: &str,
        format: &str,
        range: Option<ByteRange>,
    ) -> Result<Media, ProviderError> {
        let ext = if format == "mp3" { "mp3" } else { "wav" };
        let url = self.account_url(&format!("/Recordings/{}.{ext}", encode(sid)));
        let asked = range.map(|r| match r.end {
            Some(e) => format!("bytes={}-{e}", r.start),
            None => format!("bytes={}-", r.start),
        });
        let res = self
            .send_within(
                Method::GET,
                &url,
                &[],
                Repeat::Safe,
                http::MEDIA_TIMEOUT,
                asked.as_deref(),
            )
            .await?;
        let cap = self.cfg.max_media_bytes;
        let content_length = res.content_length();
        if content_length.is_some_and(|n| n > cap) {
            return Err(ProviderError::Decode(http::TOO_LARGE.into()));
        }
        // A 206 must say which bytes it holds, and they must be the ones asked for; a 200 is
        // the whole recording (the provider ignored the range).
        let served = match (res.status(), range) {
            (reqwest::StatusCode::PARTIAL_CONTENT, Some(asked)) => Some(
                res.headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| ContentRange::parse_for(v, asked, cap))
                    .filter(|r| content_length.is_none_or(|n| n == r.byte_count()))
                    .ok_or_else(|| {
                        ProviderError::Decode("a partial answer for other bytes".into())
                    })?,
            ),
            (reqwest::StatusCode::PARTIAL_CONTENT, None) => {
                return Err(ProviderError::Decode(
                    "a partial answer nobody asked for".into(),
                ))
            }
            _ => None,
        };
        // Content-Length may be absent or wrong: the stream enforces the cap on what arrives.
        Ok(Media {
            content_length,
            range: served,
            body: http::capped_stream(res, cap),
        })
    }

    /// `DELETE …/Recordings/{Sid}.json`, answered 204. A 404 (the recording is already gone)
    /// counts as deleted. Deleting twice has the effect of deleting once, so a transient failure
    /// is retried like a read.
    async fn delete_recording(&self, sid: &str) -> Result<(), ProviderError> {
        check_sid(sid, &["RE"], "recording")?;
        let url = self.account_url(&format!("/Recordings/{}.json", encode(sid)));
        match self.send(Method::DELETE, &url, &[], Repeat::Safe).await {
            Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Messaging for TwilioClient {
    async fn send_message(&self, msg: &NewMessage) -> Result<Message, ProviderError> {
        let mut form = vec![
            ("To".to_string(), msg.to.clone()),
            ("From".to_string(), msg.from.clone()),
            ("Body".to_string(), msg.body.clone()),
        ];
        push(&mut form, "StatusCallback", &msg.status_callback);
        let res = self
            .send(
                Method::POST,
                &self.account_url("/Messages.json"),
                &form,
                Repeat::Never,
            )
            .await?;
        Self::json(res).await
    }

    /// `POST …/Messages/{Sid}.json` with an empty `Body`: Twilio's way of erasing a message's text
    /// while keeping the rest of it. The answer must show the body empty. A 404 (the message is
    /// gone) leaves no text either: `Ok(true)`. Redacting twice has the effect of redacting once,
    /// so a transient failure is retried like a read.
    async fn redact_message(&self, sid: &str) -> Result<bool, ProviderError> {
        check_sid(sid, &["SM", "MM"], "message")?;
        let url = self.account_url(&format!("/Messages/{}.json", encode(sid)));
        let form = [("Body".to_string(), String::new())];
        let res = match self.send(Method::POST, &url, &form, Repeat::Safe).await {
            Ok(res) => res,
            Err(ProviderError::NotFound { .. }) => return Ok(true),
            Err(e) => return Err(e),
        };
        let m: Message = Self::json(res).await?;
        if m.body.as_deref().is_some_and(|b| !b.is_empty()) {
            return Err(ProviderError::Decode(
                "the provider still shows the message's body after redacting it".into(),
            ));
        }
        Ok(true)
    }
}
