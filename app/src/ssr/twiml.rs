//! The TwiML documents we answer voice and SMS webhooks with (every value XML-escaped).

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Ends the call.
pub fn hangup() -> String {
    format!("{XML_HEAD}<Response><Hangup/></Response>")
}

/// Dials `number` showing `caller_id`; with `recording_callback`, records from the answer and
/// reports the recording there.
pub fn dial(caller_id: &str, number: &str, recording_callback: Option<&str>) -> String {
    let record = match recording_callback {
        Some(url) => format!(
            r#" record="record-from-answer" recordingStatusCallback="{}""#,
            xml_escape(url)
        ),
        None => String::new(),
    };
    format!(
        r#"{XML_HEAD}<Response><Dial callerId="{}"{record}><Number>{}</Number></Dial></Response>"#,
        xml_escape(caller_id),
        xml_escape(number)
    )
}

/// Says the number is not taking calls, and hangs up.
pub fn not_taking_calls() -> String {
    format!(
        "{XML_HEAD}<Response><Say>This number is not taking calls right now. Goodbye.</Say><Hangup/></Response>"
    )
}

/// Records a voicemail of up to two minutes, reported to `recording_callback`.
pub fn voicemail(recording_callback: &str) -> String {
    let rec_url = xml_escape(recording_callback);
    format!(
        r#"{XML_HEAD}<Response><Say>Please leave a message after the tone.</Say><Record maxLength="120" playBeep="true" recordingStatusCallback="{rec_url}"/><Say>No message was recorded. Goodbye.</Say></Response>"#
    )
}

/// Answers an inbound SMS with one reply, which the provider sends back to its sender and
/// reports to `status_callback`.
pub fn message(text: &str, status_callback: &str) -> String {
    format!(
        r#"{XML_HEAD}<Response><Message statusCallback="{}">{}</Message></Response>"#,
        xml_escape(status_callback),
        xml_escape(text)
    )
}

/// An empty answer (an inbound SMS needs no reply).
pub fn empty() -> String {
    format!("{XML_HEAD}<Response/>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twiml_values_are_escaped() {
        assert_eq!(
            xml_escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(
            dial("+1<", "+2", Some("https://x/r?call=1&a")),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="+1&lt;" record="record-from-answer" recordingStatusCallback="https://x/r?call=1&amp;a"><Number>+2</Number></Dial></Response>"#
        );
    }
}
