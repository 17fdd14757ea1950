//! Amazon SNS as the client uses it (botocore's `sns/2010-03-31`, protocol `query`): the form
//! bodies of `Publish` and `GetSMSAttributes`, and their XML answers.

use super::errors::{leaf, sentence, xml_leaves};
use super::AwsConfig;
use crate::models::Message;
use crate::provider::{NewMessage, ProviderError};

/// The SNS API version every query request names (`metadata.apiVersion`).
pub const SNS_VERSION: &str = "2010-03-31";
/// The namespace of SNS's XML answers (`metadata.xmlNamespace`).
pub const SNS_XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";
/// The query protocol's body type, as botocore sends it.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The SMS types SNS knows (`AWS.SNS.SMS.SMSType`).
pub const SMS_TYPES: [&str; 2] = ["Transactional", "Promotional"];

/// The form of an SNS query request: `Action`, `Version`, then `params`.
pub(super) fn query_body(action: &str, params: &[(String, String)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", action)
        .append_pair("Version", SNS_VERSION)
        .extend_pairs(params)
        .finish()
        .into_bytes()
}

/// `Publish`'s parameters (`PublishInput`): `PhoneNumber`, `Message`, and the SMS settings of the
/// configuration as `MessageAttributes` (a `MessageAttributeMap`: `entry.N.Name`, and
/// `entry.N.Value` a `MessageAttributeValue` with `DataType` `String` and `StringValue`).
pub(super) fn publish_params(cfg: &AwsConfig, to: &str, body: &str) -> Vec<(String, String)> {
    let mut p = vec![
        ("PhoneNumber".to_string(), to.to_string()),
        ("Message".to_string(), body.to_string()),
    ];
    let attributes = [
        ("AWS.SNS.SMS.SenderID", &cfg.sender_id),
        ("AWS.SNS.SMS.SMSType", &cfg.sms_type),
        ("AWS.MM.SMS.OriginationNumber", &cfg.origination_number),
    ];
    let set = attributes
        .iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (*name, v.trim())))
        .filter(|(_, v)| !v.is_empty());
    for (i, (name, value)) in set.enumerate() {
        let n = i + 1;
        p.push((format!("MessageAttributes.entry.{n}.Name"), name.into()));
        p.push((
            format!("MessageAttributes.entry.{n}.Value.DataType"),
            "String".into(),
        ));
        p.push((
            format!("MessageAttributes.entry.{n}.Value.StringValue"),
            value.into(),
        ));
    }
    p
}

/// An SNS answer to `action` as its XML leaves, checked to be `{action}Response`.
pub(super) fn read_answer(
    action: &str,
    answer: &[u8],
) -> Result<Vec<(String, String)>, ProviderError> {
    let text = std::str::from_utf8(answer)
        .map_err(|_| ProviderError::Decode("SNS answered with text that is not UTF-8".into()))?;
    // The parser's own words can quote the answer at length: bounded like AWS's messages.
    let leaves = xml_leaves(text).map_err(|e| {
        ProviderError::Decode(
            sentence(Some(&e)).unwrap_or_else(|| "SNS answered with broken XML".into()),
        )
    })?;
    let root = format!("{action}Response/");
    if !leaves.iter().any(|(p, _)| p.starts_with(&root)) {
        return Err(ProviderError::Decode(format!(
            "SNS did not answer with {action}Response"
        )));
    }
    Ok(leaves)
}

/// `Publish`'s answer (its `MessageId`) as the message sent: `sent` once SNS has it, from the
/// configuration's origination number or sender ID.
pub(super) fn published(
    cfg: &AwsConfig,
    msg: &NewMessage,
    leaves: &[(String, String)],
) -> Result<Message, ProviderError> {
    let id = leaf(leaves, "PublishResponse/PublishResult/MessageId")
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 100)
        .ok_or_else(|| ProviderError::Decode("SNS answered without a MessageId".into()))?;
    Ok(Message {
        sid: id.to_string(),
        status: Some("sent".into()),
        from: cfg
            .origination_number
            .clone()
            .or_else(|| cfg.sender_id.clone()),
        to: Some(msg.to.clone()),
        body: Some(msg.body.clone()),
        ..Default::default()
    })
}
