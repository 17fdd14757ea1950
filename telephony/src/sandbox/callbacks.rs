//! Requests the sandbox sends to the app's webhooks, signed like Twilio's (X-Twilio-Signature):
//! with the auth token, or with the shared key of the configuration when it has one.

use axum::http::header;

use super::Sandbox;
use crate::signature::{self, Algorithm};

impl Sandbox {
    /// A POST of a form to `url`, signed as Twilio signs it.
    fn signed_post(&self, url: &str, params: &[(String, String)]) -> reqwest::RequestBuilder {
        let req = self
            .http
            .post(url)
            .header(header::USER_AGENT, "TwilioProxy/1.1")
            .form(params);
        match &self.cfg.shared_key {
            Some((id, secret)) => req
                .header(
                    "X-Twilio-Signature",
                    signature::compute_with(Algorithm::HmacSha256, secret, url, params),
                )
                .header(signature::SETTINGS_HEADER, signature::settings_header(id)),
            None => req.header(
                "X-Twilio-Signature",
                signature::compute(&self.cfg.auth_token, url, params),
            ),
        }
    }

    /// POSTs a signed form callback and returns the answer's body (TwiML) when it succeeded.
    pub(super) async fn fetch_twiml(
        &self,
        url: &str,
        params: &[(String, String)],
    ) -> Option<String> {
        let r = self.signed_post(url, params).send().await.ok()?;
        if !r.status().is_success() {
            tracing::info!(url, status = %r.status(), "sandbox webhook answered with an error");
            return None;
        }
        r.text().await.ok()
    }

    /// POSTs a form callback signed like Twilio's.
    pub(super) async fn callback(&self, url: &str, params: Vec<(String, String)>) {
        let result = self.signed_post(url, &params).send().await;
        match result {
            Ok(r) if !r.status().is_success() => {
                tracing::info!(url, status = %r.status(), "sandbox callback answered with an error")
            }
            Err(e) => tracing::info!(url, error = %e.without_url(), "sandbox callback failed"),
            _ => {}
        }
    }
}
