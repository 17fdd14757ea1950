//! The AWS client against the sandbox's SNS and Pinpoint (signatures checked, lookups from the
//! sandbox's data, magic numbers, published texts recorded), and against moto, a real
//! AWS-compatible mock (`scripts/moto.sh`), for SNS `Publish`, `GetSMSAttributes`,
//! `CheckIfPhoneNumberIsOptedOut` and `ListPhoneNumbersOptedOut`.

mod common;

use std::time::Duration;

use telephony::aws::{AwsClient, AwsConfig};
use telephony::provider::{Lookups, Messaging, NewMessage, Provider, ProviderError};
use telephony::sandbox::{self, Sandbox, SandboxConfig, Shared};

/// The sandbox on 127.0.0.1, mounted at `/sandbox/twilio` as the server mounts it (so signatures
/// cover the mount point's path).
async fn start_sandbox() -> (String, Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let base = format!("{origin}/sandbox/twilio");
    let sb = Sandbox::start(SandboxConfig::dev(&base, None));
    let router = axum::Router::new().nest("/sandbox/twilio", sandbox::router(sb.clone()));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, sb)
}

fn sandbox_config(base: &str) -> AwsConfig {
    let mut cfg = AwsConfig::new(
        sandbox::DEV_AWS_REGION,
        sandbox::DEV_AWS_ACCESS_KEY_ID,
        sandbox::DEV_AWS_SECRET_ACCESS_KEY,
    );
    cfg.sns_base = format!("{base}/aws/sns");
    cfg.pinpoint_base = format!("{base}/aws/pinpoint");
    cfg.allow_private_networks = true;
    cfg.timeout = Duration::from_secs(5);
    cfg
}

fn text(to: &str, body: &str) -> NewMessage {
    NewMessage {
        to: to.into(),
        from: String::new(),
        body: body.into(),
        status_callback: None,
    }
}

/// A number the sandbox's lookup data makes a `line_type` (the last digits choose it).
fn number_of_type(line_type: &str) -> String {
    (0..100)
        .map(|i| format!("+1415555{:04}", 2600 + i))
        .find(|n| sandbox::data::lookup_facts(n).line_type == line_type)
        .unwrap()
}

#[tokio::test]
async fn lookups_answer_from_the_sandbox_data() {
    let (base, _sb) = start_sandbox().await;
    let c = AwsClient::new(sandbox_config(&base)).unwrap();

    let mobile = number_of_type("mobile");
    let r = c.lookup(&mobile, true).await.unwrap();
    assert_eq!(r.phone_number, mobile);
    assert_eq!(r.valid, Some(true));
    assert_eq!(r.country_code.as_deref(), Some("US"));
    assert_eq!(r.calling_country_code.as_deref(), Some("1"));
    let lti = r.line_type_intelligence.unwrap();
    assert_eq!(lti.line_type.as_deref(), Some("mobile"));
    assert_eq!(
        lti.carrier_name.as_deref(),
        Some(sandbox::data::lookup_facts(&mobile).carrier)
    );
    assert!(r.caller_name.is_none(), "AWS has no caller name");
    assert_eq!(r.raw["PhoneType"], "MOBILE");
    assert_eq!(r.raw["PhoneTypeCode"], 0);

    let landline = number_of_type("landline");
    let r = c.lookup(&landline, false).await.unwrap();
    assert_eq!(
        r.line_type_intelligence.unwrap().line_type.as_deref(),
        Some("landline")
    );
    let voip = number_of_type("nonFixedVoip");
    let r = c.lookup(&voip, false).await.unwrap();
    assert_eq!(
        r.line_type_intelligence.unwrap().line_type.as_deref(),
        Some("nonFixedVoip")
    );

    for invalid in ["+1415", "not a number", sandbox::data::MAGIC_INVALID] {
        let r = c.lookup(invalid, false).await.unwrap();
        assert_eq!(r.valid, Some(false), "{invalid}");
        assert!(r.line_type_intelligence.is_none());
        assert_eq!(r.raw["PhoneType"], "INVALID");
        assert_eq!(r.raw["PhoneTypeCode"], 3);
    }

    // Unknown but valid numbers answer by country.
    let r = c.lookup("+447400123456", false).await.unwrap();
    assert_eq!(r.country_code.as_deref(), Some("GB"));
    assert_eq!(r.calling_country_code.as_deref(), Some("44"));
    assert_eq!(r.valid, Some(true));
}

#[tokio::test]
async fn texts_are_published_and_recorded() {
    let (base, sb) = start_sandbox().await;
    let mut cfg = sandbox_config(&base);
    cfg.sender_id = Some("PhoneHub".into());
    cfg.sms_type = Some("Transactional".into());
    let c = AwsClient::new(cfg).unwrap();
    let m = c
        .send_message(&text("+14155550100", "Your code is 123456 & more"))
        .await
        .unwrap();
    assert_eq!(m.sid.len(), 36, "a UUID: {}", m.sid);
    assert_eq!(m.status.as_deref(), Some("sent"));
    assert_eq!(m.from.as_deref(), Some("PhoneHub"));
    let sent = sb.aws_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message_id, m.sid);
    assert_eq!(sent[0].phone_number, "+14155550100");
    assert_eq!(sent[0].message, "Your code is 123456 & more");
    assert_eq!(sent[0].sender_id.as_deref(), Some("PhoneHub"));
    assert_eq!(sent[0].sms_type.as_deref(), Some("Transactional"));
    // The control endpoint lists them too.
    let listed: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/_aws/messages"))
        .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["message_id"], m.sid.as_str());

    for (to, body) in [
        ("4155550100", "hi"),
        ("+14155550100", ""),
        ("+14155550100", &"a".repeat(1601)),
        (sandbox::data::MAGIC_INVALID, "hi"),
    ] {
        let e = c.send_message(&text(to, body)).await.unwrap_err();
        let ProviderError::Rejected {
            status: 400,
            message,
            more_info,
            ..
        } = &e
        else {
            panic!("{to}: {e:?}")
        };
        assert!(message.starts_with("Invalid parameter"), "{message}");
        assert_eq!(more_info.as_deref(), Some("InvalidParameter"));
    }
    assert_eq!(sb.aws_messages().len(), 1, "refused texts are not recorded");
}

#[tokio::test]
async fn opted_out_numbers_are_checked_and_listed_page_by_page() {
    let (base, sb) = start_sandbox().await;
    let c = AwsClient::new(sandbox_config(&base)).unwrap();
    assert_eq!(
        c.opted_out("+14155550199").await,
        Ok(Some(true)),
        "ends in 99"
    );
    assert_eq!(c.opted_out("+14155550100").await, Ok(Some(false)));
    for n in sandbox::SNS_OPTED_OUT_AT_START {
        assert_eq!(c.opted_out(n).await, Ok(Some(true)), "{n}");
    }
    let e = c.opted_out("4155550100").await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Rejected { status: 400, message, more_info, .. } if message.starts_with("Invalid parameter: PhoneNumber") && more_info.as_deref() == Some("InvalidParameter")),
        "{e:?}"
    );
    let start: Vec<String> = sandbox::SNS_OPTED_OUT_AT_START
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(c.opted_out_numbers().await, Ok(Some(start)));
    assert_eq!(
        sb.stats().get("SnsListPhoneNumbersOptedOut"),
        Some(&1),
        "two numbers: one page"
    );
    // Five numbers: three pages of two, followed by their nextToken.
    for n in [
        "+447420500600",
        "+14155550123",
        "+14155550124",
        "+14155550123",
    ] {
        sb.aws_opt_out(n);
    }
    assert_eq!(c.opted_out("+447420500600").await, Ok(Some(true)));
    let all = c.opted_out_numbers().await.unwrap().unwrap();
    assert_eq!(
        all,
        [
            "+15005550199",
            "+447700900199",
            "+447420500600",
            "+14155550123",
            "+14155550124"
        ]
    );
    let stats = sb.stats();
    assert_eq!(stats.get("SnsListPhoneNumbersOptedOut"), Some(&4));
    assert_eq!(stats.get("SnsCheckIfPhoneNumberIsOptedOut"), Some(&6));
    // The magic numbers throttle and fail as for Publish.
    assert_eq!(
        c.opted_out(sandbox::MAGIC_AWS_THROTTLED).await,
        Err(ProviderError::RateLimited {
            retry_after_secs: None
        })
    );
}

#[tokio::test]
async fn test_connection_checks_the_credentials() {
    let (base, sb) = start_sandbox().await;
    let a = AwsClient::new(sandbox_config(&base))
        .unwrap()
        .test_connection()
        .await
        .unwrap();
    assert_eq!(a.sid, "aws:us-east-1");
    assert_eq!(a.friendly_name.as_deref(), Some("Amazon SNS (us-east-1)"));
    assert_eq!(a.status.as_deref(), Some("active"));

    let mut wrong_secret = sandbox_config(&base);
    wrong_secret.secret_access_key = "not-the-secret".to_string().into();
    let c = AwsClient::new(wrong_secret).unwrap();
    let e = c.test_connection().await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Auth { message, .. } if message.starts_with("The request signature we calculated does not match")),
        "{e:?}"
    );
    assert!(matches!(
        c.lookup("+14155550100", false).await,
        Err(ProviderError::Auth { .. })
    ));

    let mut unknown_key = sandbox_config(&base);
    unknown_key.access_key_id = "AKIAUNKNOWN000000000".into();
    let c = AwsClient::new(unknown_key).unwrap();
    for e in [
        c.test_connection().await.unwrap_err(),
        c.lookup("+14155550100", false).await.unwrap_err(),
    ] {
        assert_eq!(
            e,
            ProviderError::Auth {
                code: None,
                message: "The security token included in the request is invalid.".into()
            }
        );
    }

    let mut other_region = sandbox_config(&base);
    other_region.region = "eu-west-1".into();
    let e = AwsClient::new(other_region)
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::Auth { message, .. } if message == "Credential should be scoped to a valid region."),
        "{e:?}"
    );
    assert!(sb.stats().get("aws_auth_failures").copied().unwrap_or(0) >= 5);
}

#[tokio::test]
async fn the_throttle_number_is_rate_limited() {
    let (base, sb) = start_sandbox().await;
    let c = AwsClient::new(sandbox_config(&base)).unwrap();
    assert_eq!(
        c.lookup(sandbox::MAGIC_AWS_THROTTLED, false)
            .await
            .unwrap_err(),
        ProviderError::RateLimited {
            retry_after_secs: None
        }
    );
    assert_eq!(
        c.send_message(&text(sandbox::MAGIC_AWS_THROTTLED, "hi"))
            .await
            .unwrap_err(),
        ProviderError::RateLimited {
            retry_after_secs: None
        }
    );
    assert!(matches!(
        c.lookup(sandbox::MAGIC_AWS_SERVER_ERROR, false).await,
        Err(ProviderError::Server { status: 500, .. })
    ));
    // The lookup is retried once; Publish never.
    assert_eq!(sb.stats().get("SnsPublish"), Some(&1));
    assert_eq!(sb.aws_messages().len(), 0);
}

#[tokio::test]
async fn unsupported_operations_send_nothing() {
    let (base, sb) = start_sandbox().await;
    let c = AwsClient::new(sandbox_config(&base)).unwrap();
    let before = sb.stats();
    // Numbers and calls are not capabilities of AWS: asking for them answers at once.
    let unsupported = |r: Option<ProviderError>| match r {
        Some(ProviderError::Unsupported { operation }) => operation,
        other => panic!("{other:?}"),
    };
    let ops = [unsupported(c.numbers().err()), unsupported(c.voice().err())];
    assert_eq!(ops, ["buying and managing numbers", "calls and recordings"]);
    assert_eq!(
        ProviderError::Unsupported { operation: ops[0] }.to_string(),
        "the provider cannot do this: buying and managing numbers"
    );
    assert_eq!(sb.stats(), before, "no request reached the sandbox");
    // Nor anywhere else: a client whose endpoints cannot be reached answers the same.
    let mut nowhere = sandbox_config("http://127.0.0.1:9");
    nowhere.timeout = Duration::from_millis(200);
    let c = AwsClient::new(nowhere).unwrap();
    assert!(matches!(
        c.numbers().err(),
        Some(ProviderError::Unsupported { .. })
    ));
    assert!(matches!(
        c.test_connection().await,
        Err(ProviderError::Network(_))
    ));
}

#[tokio::test]
async fn redacting_a_text_sent_through_sns_sends_nothing() {
    let (base, sb) = start_sandbox().await;
    let c = AwsClient::new(sandbox_config(&base)).unwrap();
    let m = c
        .send_message(&text("+14155550100", "Your code is 123456"))
        .await
        .unwrap();
    let before = sb.stats();
    // SNS keeps no message bodies to redact: answered at once, false.
    assert_eq!(c.redact_message(&m.sid).await, Ok(false));
    assert_eq!(sb.stats(), before, "no request reached the sandbox");
}

#[tokio::test]
async fn sns_through_moto() {
    let (moto, took) = common::moto::start_moto().await;
    eprintln!("moto_server answered after {took:?}");
    let mut cfg = AwsConfig::new("us-east-1", "AKIAMOTO000000000001", "moto-secret");
    cfg.sns_base = moto.base.clone();
    cfg.pinpoint_base = moto.base.clone();
    cfg.allow_private_networks = true;
    cfg.sms_type = Some("Transactional".into());
    cfg.sender_id = Some("PhoneHub".into());
    let c = AwsClient::new(cfg).unwrap();

    let a = c.test_connection().await.expect("GetSMSAttributes");
    assert_eq!(a.sid, "aws:us-east-1");
    let m = c
        .send_message(&text("+14155550100", "Hello from PhoneHub"))
        .await
        .expect("Publish");
    assert_eq!(m.sid.len(), 36, "moto's MessageId is a UUID: {}", m.sid);
    // moto's SNS rejects what AWS rejects.
    let e = c
        .send_message(&text("not-a-number", "hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ProviderError::Rejected { status: 400, .. }),
        "{e:?}"
    );

    // moto's SNS holds a number as opted out when it ends in 99, and lists eight of its own.
    assert_eq!(c.opted_out("+14155550199").await, Ok(Some(true)));
    assert_eq!(c.opted_out("+14155550100").await, Ok(Some(false)));
    let listed = c
        .opted_out_numbers()
        .await
        .expect("ListPhoneNumbersOptedOut")
        .expect("SNS keeps a list");
    assert!(listed.iter().any(|n| n == "+447420500600"), "{listed:?}");

    // moto 5.2.5 has no Pinpoint PhoneNumberValidate: the lookup fails.
    let e = c.lookup("+14155550100", false).await.unwrap_err();
    eprintln!("moto answered PhoneNumberValidate with {e:?}");
    assert!(matches!(e, ProviderError::NotFound { .. }), "{e:?}");
}
