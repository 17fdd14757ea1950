//! Requests the sandbox sends to the app's webhooks, signed like Twilio's (X-Twilio-Signature).

use axum::http::header;

use super::Sandbox;

impl Sandbox {
    /// POSTs a signed form callback and returns the answer's body (TwiML) when it succeeded.
    pub(super) async fn fetch_twiml(
        &self,
        url: &str,
        params: &[(String, String)],
    ) -> Option<String> {
        let signature = crate::signature::compute(&self.cfg.auth_token, url, params);
        let r = self
            .http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header(header::USER_AGENT, "TwilioProxy/1.1")
            .form(params)
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            tracing::info!(url, status = %r.status(), "sandbox webhook answered with an error");
            return None;
        }
        r.text().await.ok()
    }

    /// POSTs a form callback signed like Twilio's (X-Twilio-Signature with the auth token).
    pub(super) async fn callback(&self, url: &str, params: Vec<(String, String)>) {
        let signature = crate::signature::compute(&self.cfg.auth_token, url, &params);
        let result = self
            .http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header(header::USER_AGENT, "TwilioProxy/1.1")
            .form(&params)
            .send()
            .await;
        match result {
            Ok(r) if !r.status().is_success() => {
                tracing::info!(url, status = %r.status(), "sandbox callback answered with an error")
            }
            Err(e) => tracing::info!(url, error = %e.without_url(), "sandbox callback failed"),
            _ => {}
        }
    }
}
