//! Amazon SNS as the client uses it (botocore's `sns/2010-03-31`, protocol `query`): the form
//! bodies of `Publish`, `GetSMSAttributes`, `CheckIfPhoneNumberIsOptedOut` and
//! `ListPhoneNumbersOptedOut`, and their XML answers.

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

/// The most pages of `ListPhoneNumbersOptedOut` one listing follows.
pub(super) const MAX_OPTED_OUT_PAGES: usize = 100;
/// The most numbers one listing keeps.
pub(super) const MAX_OPTED_OUT_NUMBERS: usize = 10_000;

/// `CheckIfPhoneNumberIsOptedOut`'s parameters (`CheckIfPhoneNumberIsOptedOutInput`): `phoneNumber`,
/// in lower camel case as the model names it.
pub(super) fn check_opted_out_params(to: &str) -> Vec<(String, String)> {
    vec![("phoneNumber".to_string(), to.to_string())]
}

/// `ListPhoneNumbersOptedOut`'s parameters (`ListPhoneNumbersOptedOutInput`): `nextToken` from the
/// previous page, none for the first.
pub(super) fn list_opted_out_params(next_token: Option<&str>) -> Vec<(String, String)> {
    next_token
        .map(|t| vec![("nextToken".to_string(), t.to_string())])
        .unwrap_or_default()
}

/// `CheckIfPhoneNumberIsOptedOut`'s answer: its `isOptedOut` (`true` or `false`).
pub(super) fn is_opted_out(leaves: &[(String, String)]) -> Result<bool, ProviderError> {
    let value = leaf(
        leaves,
        "CheckIfPhoneNumberIsOptedOutResponse/CheckIfPhoneNumberIsOptedOutResult/isOptedOut",
    )
    .ok_or_else(|| ProviderError::Decode("SNS answered without isOptedOut".into()))?;
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ProviderError::Decode(
            "SNS answered with an isOptedOut that is neither true nor false".into(),
        )),
    }
}

/// Whether `s` has the shape of an E.164 number: `+` and 1 to 15 digits.
pub(super) fn e164_shaped(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// One page of `ListPhoneNumbersOptedOut`: its numbers, and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct OptedOutPage {
    /// The page's numbers that have the shape of E.164 numbers (others are skipped), in order.
    pub(super) numbers: Vec<String>,
    /// `nextToken`, when there are more pages (never empty).
    pub(super) next_token: Option<String>,
}

/// `ListPhoneNumbersOptedOut`'s answer: `phoneNumbers` (a list of `member`s, each a leaf at the
/// same path, see `xml_leaves`) and `nextToken`. An answer without its result element is not one.
pub(super) fn opted_out_page(leaves: &[(String, String)]) -> Result<OptedOutPage, ProviderError> {
    const RESULT: &str = "ListPhoneNumbersOptedOutResponse/ListPhoneNumbersOptedOutResult";
    let member = format!("{RESULT}/phoneNumbers/member");
    let has_result = leaves.iter().any(|(p, _)| {
        p.strip_prefix(RESULT)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    if !has_result {
        return Err(ProviderError::Decode(
            "SNS answered without a ListPhoneNumbersOptedOutResult".into(),
        ));
    }
    let mut numbers = Vec::new();
    let mut skipped = 0usize;
    for (_, v) in leaves.iter().filter(|(p, _)| *p == member) {
        let n = v.trim();
        if e164_shaped(n) {
            numbers.push(n.to_string());
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "SNS listed opted-out numbers that are not E.164 numbers; skipped"
        );
    }
    let next_token = leaf(leaves, &format!("{RESULT}/nextToken"))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok(OptedOutPage {
        numbers,
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_answer(inner: &str) -> String {
        format!("<CheckIfPhoneNumberIsOptedOutResponse xmlns=\"{SNS_XMLNS}\"><CheckIfPhoneNumberIsOptedOutResult>{inner}</CheckIfPhoneNumberIsOptedOutResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CheckIfPhoneNumberIsOptedOutResponse>")
    }

    fn list_answer(inner: &str) -> String {
        format!("<ListPhoneNumbersOptedOutResponse xmlns=\"{SNS_XMLNS}\">\n  <ListPhoneNumbersOptedOutResult>\n{inner}\n  </ListPhoneNumbersOptedOutResult>\n  <ResponseMetadata>\n    <RequestId>r</RequestId>\n  </ResponseMetadata>\n</ListPhoneNumbersOptedOutResponse>\n")
    }

    fn page(xml: &str) -> Result<OptedOutPage, ProviderError> {
        opted_out_page(&read_answer("ListPhoneNumbersOptedOut", xml.as_bytes())?)
    }

    fn check(xml: &str) -> Result<bool, ProviderError> {
        is_opted_out(&read_answer(
            "CheckIfPhoneNumberIsOptedOut",
            xml.as_bytes(),
        )?)
    }

    #[test]
    fn the_opt_out_requests_name_their_parameters_in_lower_camel_case() {
        let body = query_body(
            "CheckIfPhoneNumberIsOptedOut",
            &check_opted_out_params("+14155550100"),
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "Action=CheckIfPhoneNumberIsOptedOut&Version=2010-03-31&phoneNumber=%2B14155550100"
        );
        assert!(list_opted_out_params(None).is_empty());
        let body = query_body(
            "ListPhoneNumbersOptedOut",
            &list_opted_out_params(Some("a+b/c=")),
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "Action=ListPhoneNumbersOptedOut&Version=2010-03-31&nextToken=a%2Bb%2Fc%3D"
        );
    }

    #[test]
    fn is_opted_out_reads_true_and_false() {
        assert_eq!(
            check(&check_answer("<isOptedOut>true</isOptedOut>")),
            Ok(true)
        );
        assert_eq!(
            check(&check_answer("<isOptedOut>false</isOptedOut>")),
            Ok(false)
        );
        assert_eq!(
            check(&check_answer("<isOptedOut>\n  True\n</isOptedOut>")),
            Ok(true)
        );
        for bad in [
            check_answer(""),
            check_answer("<isOptedOut></isOptedOut>"),
            check_answer("<isOptedOut>yes</isOptedOut>"),
            // The answer to another action.
            "<PublishResponse><PublishResult><MessageId>m</MessageId></PublishResult></PublishResponse>".into(),
            "<CheckIfPhoneNumberIsOptedOutResponse><CheckIfPhoneNumberIsOptedOutResult><isOptedOut>true</CheckIfPhoneNumberIsOptedOutResult>".into(),
        ] {
            assert!(matches!(check(&bad), Err(ProviderError::Decode(_))), "{bad}");
        }
    }

    #[test]
    fn a_page_of_opted_out_numbers_with_a_next_token() {
        let p = page(&list_answer(
            "    <phoneNumbers>\n      <member>+447420500600</member>\n      <member> +15005550199 </member>\n      <member>not-a-number</member>\n      <member>+1234567890123456</member>\n      <member>+</member>\n      <member>+4477009001a9</member>\n      <member/>\n      <member>+447700900199</member>\n    </phoneNumbers>\n    <nextToken>token&amp;2</nextToken>",
        ))
        .unwrap();
        assert_eq!(
            p.numbers,
            ["+447420500600", "+15005550199", "+447700900199"]
        );
        assert_eq!(p.next_token.as_deref(), Some("token&2"));
    }

    #[test]
    fn the_last_page_and_an_empty_list() {
        let last = page(&list_answer(
            "<phoneNumbers><member>+447420500600</member></phoneNumbers><nextToken></nextToken>",
        ))
        .unwrap();
        assert_eq!(last.numbers, ["+447420500600"]);
        assert_eq!(last.next_token, None, "an empty nextToken ends the list");
        for empty in [
            list_answer("<phoneNumbers></phoneNumbers>"),
            list_answer("<phoneNumbers/>"),
            list_answer(""),
            format!("<ListPhoneNumbersOptedOutResponse xmlns=\"{SNS_XMLNS}\"><ListPhoneNumbersOptedOutResult/></ListPhoneNumbersOptedOutResponse>"),
        ] {
            assert_eq!(page(&empty), Ok(OptedOutPage::default()), "{empty}");
        }
    }

    #[test]
    fn a_malformed_list_is_a_decode_error() {
        for bad in [
            // No result element: only the metadata.
            format!("<ListPhoneNumbersOptedOutResponse xmlns=\"{SNS_XMLNS}\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListPhoneNumbersOptedOutResponse>"),
            // Another action's answer, and broken XML.
            check_answer("<isOptedOut>true</isOptedOut>"),
            "<ListPhoneNumbersOptedOutResponse><ListPhoneNumbersOptedOutResult><phoneNumbers><member>+1</phoneNumbers>".into(),
            "not xml at all".into(),
        ] {
            assert!(matches!(page(&bad), Err(ProviderError::Decode(_))), "{bad}");
        }
    }

    #[test]
    fn e164_shapes() {
        for ok in ["+1", "+447700900199", "+123456789012345"] {
            assert!(e164_shaped(ok), "{ok}");
        }
        for bad in [
            "",
            "+",
            "447700900199",
            "+1234567890123456",
            "+44 7700",
            "++1",
        ] {
            assert!(!e164_shaped(bad), "{bad}");
        }
    }
}
