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

/// What a party hears before a call is recorded: text spoken in a language, or an audio file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spoken {
    Say { text: String, language: String },
    Play { url: String },
}

impl Spoken {
    /// The `<Say>` or `<Play>` verb.
    pub fn verb(&self) -> String {
        match self {
            Spoken::Say { text, language } => format!(
                r#"<Say language="{}">{}</Say>"#,
                xml_escape(language),
                xml_escape(text)
            ),
            Spoken::Play { url } => format!("<Play>{}</Play>", xml_escape(url)),
        }
    }
}

/// How a dialled call is recorded: from the answer, reported to `callback`, with the consent
/// announcement played first (`before`: to the caller, ahead of the `<Dial>`) or to the called
/// party when they answer (`whisper_url`: the `<Number url>` whose TwiML plays it to them before
/// the parties are connected).
pub struct Recorded<'a> {
    pub callback: &'a str,
    pub before: Option<&'a Spoken>,
    pub whisper_url: Option<&'a str>,
}

/// What a recorded `<Dial>` adds (see [`Recorded`]), each empty when not recorded: the verb
/// played before the `<Dial>`, the `<Dial>`'s recording attributes, and each `<Number>`'s
/// `url` attribute.
pub(crate) fn recorded_parts(recorded: Option<&Recorded<'_>>) -> (String, String, String) {
    match recorded {
        Some(r) => (
            r.before.map(Spoken::verb).unwrap_or_default(),
            format!(
                r#" record="record-from-answer" recordingStatusCallback="{}""#,
                xml_escape(r.callback)
            ),
            r.whisper_url
                .map(|u| format!(r#" url="{}""#, xml_escape(u)))
                .unwrap_or_default(),
        ),
        None => Default::default(),
    }
}

/// Dials `number` showing `caller_id`; with `recorded`, records from the answer (see
/// [`Recorded`]).
pub fn dial(caller_id: &str, number: &str, recorded: Option<Recorded<'_>>) -> String {
    let (before, record, whisper) = recorded_parts(recorded.as_ref());
    format!(
        r#"{XML_HEAD}<Response>{before}<Dial callerId="{}"{record}><Number{whisper}>{}</Number></Dial></Response>"#,
        xml_escape(caller_id),
        xml_escape(number)
    )
}

/// Plays `spoken` (the called party's side of a recorded call, before it is connected); with
/// nothing to play, an empty answer.
pub fn announcement(spoken: Option<&Spoken>) -> String {
    match spoken {
        Some(s) => format!("{XML_HEAD}<Response>{}</Response>", s.verb()),
        None => empty(),
    }
}

/// Refuses the call without answering it: Twilio does not pick up (nothing is billed) when
/// `<Reject>` is the first verb, and the call ends `no-answer` (`reason="rejected"`, the caller
/// hears the network's not-in-service answer). Nothing may be nested in it, nor it in anything.
pub fn reject() -> String {
    format!(r#"{XML_HEAD}<Response><Reject reason="rejected"/></Response>"#)
}

/// Says the number is not taking calls, and hangs up.
pub fn not_taking_calls() -> String {
    format!(
        "{XML_HEAD}<Response><Say>This number is not taking calls right now. Goodbye.</Say><Hangup/></Response>"
    )
}

/// Records a voicemail of up to two minutes, reported to `recording_callback`, after the consent
/// announcement (`before`).
pub fn voicemail(recording_callback: &str, before: Option<&Spoken>) -> String {
    let rec_url = xml_escape(recording_callback);
    let before = before.map(Spoken::verb).unwrap_or_default();
    format!(
        r#"{XML_HEAD}<Response>{before}<Say>Please leave a message after the tone.</Say><Record maxLength="120" playBeep="true" recordingStatusCallback="{rec_url}"/><Say>No message was recorded. Goodbye.</Say></Response>"#
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
        let plain = dial(
            "+1<",
            "+2",
            Some(Recorded {
                callback: "https://x/r?call=1&a",
                before: None,
                whisper_url: None,
            }),
        );
        assert_eq!(
            plain,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="+1&lt;" record="record-from-answer" recordingStatusCallback="https://x/r?call=1&amp;a"><Number>+2</Number></Dial></Response>"#
        );
    }

    /// Twilio plays verbs in document order: the announcement is heard before the `<Dial>` that
    /// records starts; an outbound call's called party hears the `<Number url>` TwiML on answer,
    /// before the parties are connected.
    #[test]
    fn the_consent_announcement_comes_before_the_recording() {
        let say = Spoken::Say {
            text: "This call <may> be recorded.".into(),
            language: "en-GB".into(),
        };
        let inbound = dial(
            "+15550001",
            "+15550002",
            Some(Recorded {
                callback: "https://x/r?call=7",
                before: Some(&say),
                whisper_url: None,
            }),
        );
        assert_eq!(
            inbound,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-GB">This call &lt;may&gt; be recorded.</Say><Dial callerId="+15550001" record="record-from-answer" recordingStatusCallback="https://x/r?call=7"><Number>+15550002</Number></Dial></Response>"#
        );
        assert!(inbound.find("<Say").unwrap() < inbound.find("<Dial").unwrap());

        let outbound = dial(
            "+15550001",
            "+15550003",
            Some(Recorded {
                callback: "https://x/r?call=8",
                before: None,
                whisper_url: Some("https://x/a?call=8&b"),
            }),
        );
        assert!(outbound.contains(r#"<Number url="https://x/a?call=8&amp;b">+15550003</Number>"#));
        let play = Spoken::Play {
            url: "https://x/media/consent/ab".into(),
        };
        assert_eq!(
            announcement(Some(&play)),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Play>https://x/media/consent/ab</Play></Response>"#
        );
        assert_eq!(announcement(None), empty());
        let vm = voicemail("https://x/r?call=9", Some(&say));
        assert!(vm.find("<Say language=\"en-GB\">").unwrap() < vm.find("<Record").unwrap());
        assert!(!dial("+1", "+2", None).contains("record"));
    }

    /// `<Reject>` is the only verb: Twilio ignores anything after it, and only a first
    /// `<Reject>` leaves the call unanswered and unbilled.
    #[test]
    fn a_rejection_is_the_only_verb() {
        assert_eq!(
            reject(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="rejected"/></Response>"#
        );
    }
}
