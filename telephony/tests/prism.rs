//! Contract test: every Twilio operation PhoneHub uses, sent by our client to Prism serving
//! Twilio's official OpenAPI specs (from the npm package @twilio-alpha/mcp). Prism answers 422
//! for any request the spec does not accept; its example responses must parse.

mod common;

use telephony::provider::Voice;
use telephony::twilio::{TwilioClient, TwilioConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_is_accepted_by_twilios_spec_and_its_answer_parses() {
    let ((_api, api), (_lookups, lookups)) = tokio::join!(
        common::prism("twilio_api_v2010.json", None),
        common::prism("twilio_lookups_v2.json", None)
    );
    let mut cfg = TwilioConfig::new("AC00000000000000000000000000000000", "an-auth-token");
    // The fake provider listens on loopback.
    cfg.allow_private_networks = true;
    cfg.api_base = api;
    cfg.lookups_base = lookups;
    cfg.max_retries = 0;
    let c = TwilioClient::new(cfg).unwrap();
    common::exercise_every_operation(&c, "+14155550100", "https://phonehub.example.com").await;
    let recordings = c.list_recordings(None).await.unwrap();
    let sid = recordings
        .first()
        .map(|r| r.sid.clone())
        .expect("the spec's example lists a recording");
    c.fetch_recording(&sid).await.expect("FetchRecording");
}
