//! The TwiML each step of a call route answers Twilio with, to URLs the caller builds (every
//! value XML-escaped).

use super::twiml::{recorded_parts, xml_escape, Recorded, Spoken};
use crate::model::routes::{Greeting, MAX_PHONES};

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// The longest voicemail, in seconds: Twilio transcribes only recordings of at most two
/// minutes (Recording Transcription resource).
pub const VOICEMAIL_MAX_SECS: u16 = 120;

/// How long a menu waits for a key after its greeting, in seconds (Twilio's default too).
pub const MENU_TIMEOUT_SECS: u16 = 5;

fn document(verbs: &str) -> String {
    format!("{XML_HEAD}<Response>{verbs}</Response>")
}

/// What a route's greeting sounds like: its text spoken in `language`, or its uploaded file,
/// which Twilio fetches from `audio_url(file_id)`.
pub fn spoken(greeting: &Greeting, language: &str, audio_url: &dyn Fn(i64) -> String) -> Spoken {
    match greeting {
        Greeting::Say { text } => Spoken::Say {
            text: text.clone(),
            language: language.to_string(),
        },
        Greeting::Audio { file_id } => Spoken::Play {
            url: audio_url(*file_id),
        },
    }
}

/// A menu: plays `greeting` while listening for one key.
///
/// Twilio `<Gather>`: `input="dtmf"` takes keys only; `numDigits="1"` ends it at the first key,
/// with no `#` needed; `timeout` is how long it waits for a key once the greeting ends; the key
/// goes to `action` as `Digits` (a POST to `gathered_url`). Only `<Say>`, `<Play>` and
/// `<Pause>` may nest in it (error 13320 otherwise). When the timeout passes with no key,
/// Twilio does not request `action` and carries on with the verb after the `<Gather>`: here a
/// `<Redirect>` that POSTs to `no_input_url` (verbs after a `<Redirect>` are never reached).
pub fn menu(greeting: &Spoken, gathered_url: &str, no_input_url: &str) -> String {
    document(&format!(
        r#"<Gather input="dtmf" numDigits="1" timeout="{MENU_TIMEOUT_SECS}" action="{}" method="POST">{}</Gather><Redirect method="POST">{}</Redirect>"#,
        xml_escape(gathered_url),
        greeting.verb(),
        xml_escape(no_input_url)
    ))
}

/// How a `<Dial>` runs: how long each phone rings, the caller ID the rung phones show (None:
/// Twilio shows an inbound caller's own number), whether the call is recorded, and where Twilio
/// reports how it ended.
///
/// Twilio `<Dial>`: `timeout` is the seconds a phone rings before the dial gives up (5–600,
/// default 30); when the dialled call ends, answered or not, Twilio POSTs `DialCallStatus` (and
/// `DialCallSid`, `DialCallDuration`) to `action` and goes on with the TwiML it answers; verbs
/// after a `<Dial>` with an `action` are never reached. Recording (`record`,
/// `recordingStatusCallback`, the consent `before` the dial, the `<Number url>` whisper) is as
/// in [`super::twiml::dial`].
pub struct Dial<'a> {
    pub seconds: u16,
    pub caller_id: Option<&'a str>,
    /// Requested when the dial ends; answer it with [`after_dial`].
    pub after_url: &'a str,
    pub recorded: Option<&'a Recorded<'a>>,
}

/// Dials `numbers` at once (Twilio `<Number>`: up to ten in one `<Dial>`; the first to pick up
/// is connected and the others are hung up).
fn dial<'n>(numbers: impl Iterator<Item = &'n str>, d: &Dial<'_>) -> String {
    let caller_id = d
        .caller_id
        .map(|c| format!(r#" callerId="{}""#, xml_escape(c)))
        .unwrap_or_default();
    let (before, record, whisper) = recorded_parts(d.recorded);
    let numbers: String = numbers
        .take(MAX_PHONES)
        .map(|n| format!("<Number{whisper}>{}</Number>", xml_escape(n)))
        .collect();
    document(&format!(
        r#"{before}<Dial timeout="{}" action="{}" method="POST"{caller_id}{record}>{numbers}</Dial>"#,
        d.seconds,
        xml_escape(d.after_url)
    ))
}

/// A ring group that rings every phone at once.
pub fn ring_at_once(phones: &[String], d: &Dial<'_>) -> String {
    dial(phones.iter().map(String::as_str), d)
}

/// Leg `leg` (from 0) of a ring group that rings its phones in turn: one `<Dial>` with that one
/// phone. Twilio requests `d.after_url` when it ends, so that URL carries the leg: when nobody
/// answered, that request answers with leg `leg + 1`. None once every phone has been rung.
/// (Leave `d.recorded.before` out after leg 0, or the caller hears the consent again.)
pub fn ring_leg(phones: &[String], leg: usize, d: &Dial<'_>) -> Option<String> {
    phones
        .get(leg)
        .map(|p| dial(std::iter::once(p.as_str()), d))
}

/// Forwards the call to `to`.
pub fn forward(to: &str, d: &Dial<'_>) -> String {
    dial(std::iter::once(to), d)
}

/// Whether a `<Dial>` reached someone, from the `DialCallStatus` Twilio POSTs to its `action`:
/// `completed` (the called party answered; the call between them has ended) or `answered`.
/// `busy`, `no-answer`, `failed` and `canceled` mean nobody was connected.
pub fn dial_connected(dial_call_status: Option<&str>) -> bool {
    matches!(dial_call_status, Some("completed" | "answered"))
}

/// The answer to a `<Dial>`'s `action`: when someone was connected, the conversation is over
/// and the call ends; otherwise `next` (the no-answer step's TwiML, or the next leg's).
pub fn after_dial(dial_call_status: Option<&str>, next: impl FnOnce() -> String) -> String {
    if dial_connected(dial_call_status) {
        hangup(None)
    } else {
        next()
    }
}

/// Where a voicemail's requests go.
pub struct VoicemailUrls<'a> {
    /// The `<Record action>`, requested once a message is recorded (`RecordingUrl`,
    /// `RecordingDuration`, `Digits`); answer it with [`hangup`]. Without it Twilio would
    /// request this same document again and replay the greeting.
    pub recorded_url: &'a str,
    /// Where Twilio POSTs the recording once its file is ready (`RecordingSid`, `RecordingUrl`,
    /// `RecordingDuration`, `RecordingStatus`).
    pub recording_callback: &'a str,
    /// Where Twilio POSTs the transcript (`TranscriptionText`, `TranscriptionStatus`,
    /// `RecordingSid`).
    pub transcript_callback: &'a str,
}

/// Takes a message: the recording consent (`consent`, when the org announces it), `greeting`,
/// a beep, then up to two minutes recorded and transcribed.
///
/// Twilio `<Record>`: `maxLength` in seconds; `playBeep` before recording;
/// `recordingStatusCallback` with `recordingStatusCallbackEvent="completed"` reports the file
/// once it can be fetched; `transcribe="true"` sends the text to `transcribeCallback` (for
/// recordings of two minutes at most); `action` defaults to this document's own URL, hence
/// [`VoicemailUrls::recorded_url`]. The verbs after `<Record>` run only when Twilio does not
/// request `action` (nothing was recorded): they end the call rather than leave silence.
pub fn voicemail(greeting: &Spoken, consent: Option<&Spoken>, urls: &VoicemailUrls<'_>) -> String {
    document(&format!(
        r#"{}{}<Record action="{}" method="POST" maxLength="{VOICEMAIL_MAX_SECS}" playBeep="true" recordingStatusCallback="{}" recordingStatusCallbackEvent="completed" transcribe="true" transcribeCallback="{}"/><Say>No message was recorded. Goodbye.</Say><Hangup/>"#,
        consent.map(Spoken::verb).unwrap_or_default(),
        greeting.verb(),
        xml_escape(urls.recorded_url),
        xml_escape(urls.recording_callback),
        xml_escape(urls.transcript_callback)
    ))
}

/// Ends the call, after `message` when there is one (Twilio `<Hangup>`: no attributes, nothing
/// nested).
pub fn hangup(message: Option<&Spoken>) -> String {
    document(&format!(
        "{}<Hangup/>",
        message.map(Spoken::verb).unwrap_or_default()
    ))
}

/// Sends Twilio to `url` for the rest of the call (Twilio `<Redirect>`: the URL is its text;
/// `method` defaults to POST and is said anyway).
pub fn redirect(url: &str) -> String {
    document(&format!(
        r#"<Redirect method="POST">{}</Redirect>"#,
        xml_escape(url)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    const HOSTILE_URL: &str = r#"https://x/v?call=9&step=1&q="<a>'"#;
    const HOSTILE_URL_ESCAPED: &str = "https://x/v?call=9&amp;step=1&amp;q=&quot;&lt;a&gt;&apos;";

    /// Each element in document order, with the element it sits in ("" for the root). Every
    /// value is escaped, so any `<` is a tag: a value that broke out would show up here.
    fn elements(doc: &str) -> Vec<(String, String)> {
        let mut rest = doc
            .strip_prefix(HEAD)
            .expect("the XML declaration comes first");
        let (mut open, mut found) = (Vec::<String>::new(), Vec::new());
        while let Some(lt) = rest.find('<') {
            let gt = lt + rest[lt..].find('>').expect("every tag closes");
            let tag = &rest[lt + 1..gt];
            rest = &rest[gt + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop().as_deref(), Some(name), "{doc}");
                continue;
            }
            let name = tag.split([' ', '/']).next().unwrap_or_default().to_string();
            found.push((open.last().cloned().unwrap_or_default(), name.clone()));
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        assert!(open.is_empty() && rest.is_empty(), "{doc}");
        found
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect()
    }

    /// The elements nested directly in every `parent`.
    fn inside(doc: &str, parent: &str) -> Vec<String> {
        elements(doc)
            .into_iter()
            .filter(|(p, _)| p == parent)
            .map(|(_, c)| c)
            .collect()
    }

    fn say(text: &str) -> Spoken {
        Spoken::Say {
            text: text.into(),
            language: "en-US".into(),
        }
    }

    fn phones(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    fn plain_dial(after_url: &str) -> Dial<'_> {
        Dial {
            seconds: 20,
            caller_id: None,
            after_url,
            recorded: None,
        }
    }

    #[test]
    fn a_menu_gathers_one_key_then_falls_through_to_the_no_input_url() {
        let doc = menu(
            &say(r#"Press 1 for <sales> & 2 for "support""#),
            "https://x/v/route?call=9&step=1&gathered=1",
            HOSTILE_URL,
        );
        assert_eq!(
            doc,
            format!(
                r#"{HEAD}<Response><Gather input="dtmf" numDigits="1" timeout="5" action="https://x/v/route?call=9&amp;step=1&amp;gathered=1" method="POST"><Say language="en-US">Press 1 for &lt;sales&gt; &amp; 2 for &quot;support&quot;</Say></Gather><Redirect method="POST">{HOSTILE_URL_ESCAPED}</Redirect></Response>"#
            )
        );
        assert_eq!(
            elements(&doc),
            pairs(&[
                ("", "Response"),
                ("Response", "Gather"),
                ("Gather", "Say"),
                ("Response", "Redirect"),
            ])
        );
        let played = menu(
            &Spoken::Play {
                url: "https://x/media/route/3?t=a&b".into(),
            },
            "https://x/g",
            "https://x/n",
        );
        assert!(played
            .contains(r#"method="POST"><Play>https://x/media/route/3?t=a&amp;b</Play></Gather>"#));
        for doc in [&doc, &played] {
            let nested = inside(doc, "Gather");
            assert!(nested
                .iter()
                .all(|v| ["Say", "Play", "Pause"].contains(&v.as_str())));
        }
    }

    #[test]
    fn greeting_text_cannot_add_verbs() {
        let sneaky = say(r#"</Say></Gather><Dial>+19005550100</Dial><Gather><Say>"#);
        let doc = menu(&sneaky, "https://x/g", "https://x/n");
        assert_eq!(inside(&doc, "Response"), ["Gather", "Redirect"]);
        assert_eq!(inside(&doc, "Gather"), ["Say"]);
        let vm = voicemail(
            &sneaky,
            None,
            &VoicemailUrls {
                recorded_url: HOSTILE_URL,
                recording_callback: HOSTILE_URL,
                transcript_callback: HOSTILE_URL,
            },
        );
        assert_eq!(inside(&vm, "Response"), ["Say", "Record", "Say", "Hangup"]);
    }

    #[test]
    fn a_ring_group_at_once_dials_every_phone_in_one_dial() {
        let d = Dial {
            caller_id: Some("+14155550199"),
            ..plain_dial(HOSTILE_URL)
        };
        let doc = ring_at_once(&phones(&["+14155550100", "+14155550101"]), &d);
        assert_eq!(
            doc,
            format!(
                r#"{HEAD}<Response><Dial timeout="20" action="{HOSTILE_URL_ESCAPED}" method="POST" callerId="+14155550199"><Number>+14155550100</Number><Number>+14155550101</Number></Dial></Response>"#
            )
        );
        assert_eq!(inside(&doc, "Response"), ["Dial"]);
        assert_eq!(inside(&doc, "Dial"), ["Number", "Number"]);
        // Twilio dials at most ten numbers at once.
        let many: Vec<String> = (0..12).map(|k| format!("+1415555{k:04}")).collect();
        assert_eq!(inside(&ring_at_once(&many, &d), "Dial").len(), 10);
    }

    #[test]
    fn a_ring_group_in_turn_dials_one_phone_per_leg_until_none_is_left() {
        let group = phones(&["+14155550100", "+14155550101"]);
        let leg = |k: usize| {
            let after = format!("https://x/v/route?call=9&step=2&leg={k}");
            ring_leg(&group, k, &plain_dial(&after))
        };
        assert_eq!(
            leg(0).as_deref(),
            Some(
                format!(
                    r#"{HEAD}<Response><Dial timeout="20" action="https://x/v/route?call=9&amp;step=2&amp;leg=0" method="POST"><Number>+14155550100</Number></Dial></Response>"#
                )
                .as_str()
            )
        );
        let second = leg(1).unwrap_or_default();
        assert!(second.contains(r#"leg=1" method="POST"><Number>+14155550101</Number></Dial>"#));
        assert_eq!(inside(&second, "Dial"), ["Number"]);
        assert_eq!(leg(2), None);
    }

    #[test]
    fn a_recorded_forward_announces_consent_before_the_dial() {
        let consent = say("This call may be recorded & kept.");
        let recorded = Recorded {
            callback: "https://x/r?call=9&a",
            before: Some(&consent),
            whisper_url: Some("https://x/w?call=9&b"),
        };
        let d = Dial {
            recorded: Some(&recorded),
            ..plain_dial("https://x/after?call=9&step=3")
        };
        let doc = forward("+14155550101", &d);
        assert_eq!(
            doc,
            format!(
                r#"{HEAD}<Response><Say language="en-US">This call may be recorded &amp; kept.</Say><Dial timeout="20" action="https://x/after?call=9&amp;step=3" method="POST" record="record-from-answer" recordingStatusCallback="https://x/r?call=9&amp;a"><Number url="https://x/w?call=9&amp;b">+14155550101</Number></Dial></Response>"#
            )
        );
        assert_eq!(inside(&doc, "Response"), ["Say", "Dial"]);
        assert_eq!(inside(&doc, "Dial"), ["Number"]);
    }

    #[test]
    fn after_a_dial_a_connected_call_ends_and_any_other_goes_on() {
        let hung_up = format!("{HEAD}<Response><Hangup/></Response>");
        for status in ["completed", "answered"] {
            assert!(dial_connected(Some(status)));
            assert_eq!(
                after_dial(Some(status), || redirect("https://x/next")),
                hung_up
            );
        }
        for status in [
            Some("no-answer"),
            Some("busy"),
            Some("failed"),
            Some("canceled"),
            None,
        ] {
            assert!(!dial_connected(status));
            assert_eq!(
                after_dial(status, || redirect("https://x/next?step=4&leg=1")),
                format!(
                    r#"{HEAD}<Response><Redirect method="POST">https://x/next?step=4&amp;leg=1</Redirect></Response>"#
                )
            );
        }
    }

    #[test]
    fn voicemail_announces_records_transcribes_and_ends() {
        let urls = VoicemailUrls {
            recorded_url: "https://x/v/recorded?call=9&step=4",
            recording_callback: "https://x/hooks/recording?call=9&step=4",
            transcript_callback: HOSTILE_URL,
        };
        let consent = say("Calls may be recorded.");
        let greeting = Spoken::Play {
            url: "https://x/media/route/3?t=<x>".into(),
        };
        let doc = voicemail(&greeting, Some(&consent), &urls);
        assert_eq!(
            doc,
            format!(
                r#"{HEAD}<Response><Say language="en-US">Calls may be recorded.</Say><Play>https://x/media/route/3?t=&lt;x&gt;</Play><Record action="https://x/v/recorded?call=9&amp;step=4" method="POST" maxLength="120" playBeep="true" recordingStatusCallback="https://x/hooks/recording?call=9&amp;step=4" recordingStatusCallbackEvent="completed" transcribe="true" transcribeCallback="{HOSTILE_URL_ESCAPED}"/><Say>No message was recorded. Goodbye.</Say><Hangup/></Response>"#
            )
        );
        assert_eq!(
            elements(&doc),
            pairs(&[
                ("", "Response"),
                ("Response", "Say"),
                ("Response", "Play"),
                ("Response", "Record"),
                ("Response", "Say"),
                ("Response", "Hangup"),
            ])
        );
        let plain = voicemail(&say("Leave a message."), None, &urls);
        assert_eq!(
            inside(&plain, "Response"),
            ["Say", "Record", "Say", "Hangup"]
        );
    }

    #[test]
    fn hanging_up_may_say_something_first() {
        assert_eq!(
            hangup(None),
            format!("{HEAD}<Response><Hangup/></Response>")
        );
        assert_eq!(
            hangup(Some(&say("Goodbye & thanks"))),
            format!(
                r#"{HEAD}<Response><Say language="en-US">Goodbye &amp; thanks</Say><Hangup/></Response>"#
            )
        );
    }

    #[test]
    fn a_redirect_carries_its_url_escaped() {
        assert_eq!(
            redirect(HOSTILE_URL),
            format!(
                r#"{HEAD}<Response><Redirect method="POST">{HOSTILE_URL_ESCAPED}</Redirect></Response>"#
            )
        );
    }

    #[test]
    fn a_greeting_is_spoken_in_the_org_language_or_played_from_its_file() {
        let url = |id: i64| format!("https://x/media/route/{id}");
        let text = Greeting::Say {
            text: "Hello".into(),
        };
        assert_eq!(
            spoken(&text, "fr-FR", &url),
            Spoken::Say {
                text: "Hello".into(),
                language: "fr-FR".into()
            }
        );
        assert_eq!(
            spoken(&Greeting::Audio { file_id: 3 }, "fr-FR", &url),
            Spoken::Play {
                url: "https://x/media/route/3".into()
            }
        );
    }
}
