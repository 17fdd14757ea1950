//! What the sandbox reads of a voice TwiML answer: what it plays before it connects the call
//! (`<Say>`, `<Play>`), and its `<Dial>`: whether the dialed call is recorded, where the recording
//! is reported, and the `<Number url>` whose TwiML the dialed party hears before being connected.

use quick_xml::events::{BytesStart, Event};

use super::Sandbox;

/// The most entries a call's `heard` holds.
pub(super) const MAX_HEARD: usize = 10;
/// The longest entry of a call's `heard`, in characters.
pub(super) const MAX_HEARD_CHARS: usize = 1000;
/// The most bytes of a `<Play>`'s audio the sandbox reads to count them.
const MAX_PLAY_BYTES: u64 = 16 * 1024 * 1024;
/// Elements nested deeper than this end the reading (TwiML is a few levels deep).
const MAX_DEPTH: usize = 16;

/// A voice TwiML answer as far as the sandbox acts on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct VoiceTwiml {
    /// What is played before the first `<Dial>` or `<Record>` (everything played, when there is
    /// neither), in document order: each `<Say>`'s text, trimmed, and `play:{url}` for each
    /// `<Play>`. Empty ones are skipped; at most [`MAX_HEARD`] entries of at most
    /// [`MAX_HEARD_CHARS`] characters.
    pub heard: Vec<String>,
    /// The first `<Dial>`, if any.
    pub dial: Option<Dial>,
}

/// A `<Dial>` verb.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Dial {
    /// Its `record` attribute asks for a recording (`record-from-answer`, `record-from-ringing`,
    /// and their `-dual` forms).
    pub record: bool,
    /// Its `recordingStatusCallback` attribute.
    pub recording_status_callback: Option<String>,
    /// The text of its first `<Number>` noun: the number dialed.
    pub number: Option<String>,
    /// The `url` attribute of its first `<Number>` noun.
    pub number_url: Option<String>,
}

/// What is being read: the text of a `<Say>`, a `<Play>` or the dial's `<Number>`, still escaped,
/// and the depth it was opened at.
struct Open {
    kind: Kind,
    depth: usize,
    raw: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Say,
    Play,
    Number,
}

/// An attribute's value, entities decoded and trimmed; `None` when absent or empty.
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
        })
        .filter(|v| !v.is_empty())
}

fn dial_of(e: &BytesStart<'_>) -> Dial {
    Dial {
        record: attr(e, "record").is_some_and(|r| r.starts_with("record-from")),
        recording_status_callback: attr(e, "recordingStatusCallback"),
        number: None,
        number_url: None,
    }
}

/// At most [`MAX_HEARD_CHARS`] characters of `s`.
pub(super) fn bounded(s: &str) -> String {
    s.chars().take(MAX_HEARD_CHARS).collect()
}

/// Reads a voice TwiML answer (see [`VoiceTwiml`]). Reading stops at the first XML error, keeping
/// what was read before it, and once the first `<Dial>` has ended.
pub(super) fn read_voice(twiml: &str) -> VoiceTwiml {
    let mut reader = quick_xml::Reader::from_str(twiml);
    let mut out = VoiceTwiml::default();
    let mut depth = 0usize;
    let mut open: Option<Open> = None;
    // The depth of the first `<Dial>` while it is open.
    let mut in_dial: Option<usize> = None;
    // Past the first `<Dial>` or `<Record>`: nothing more is heard before the call is connected.
    let mut connected = false;
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(e) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    break;
                }
                let name = e.local_name();
                match name.as_ref() {
                    b"Dial" if out.dial.is_none() => {
                        out.dial = Some(dial_of(&e));
                        in_dial = Some(depth);
                        connected = true;
                    }
                    b"Record" => connected = true,
                    b"Number" if in_dial.is_some() && open.is_none() => {
                        if let Some(dial) = out.dial.as_mut().filter(|d| d.number.is_none()) {
                            dial.number_url = attr(&e, "url");
                            open = Some(Open {
                                kind: Kind::Number,
                                depth,
                                raw: String::new(),
                            });
                        }
                    }
                    b"Say" | b"Play" if !connected && open.is_none() => {
                        let kind = if name.as_ref() == b"Say" {
                            Kind::Say
                        } else {
                            Kind::Play
                        };
                        open = Some(Open {
                            kind,
                            depth,
                            raw: String::new(),
                        });
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => {
                let name = e.local_name();
                match name.as_ref() {
                    // `<Dial/>` dials nothing, but what follows it is not heard before a dial.
                    b"Dial" if out.dial.is_none() => {
                        out.dial = Some(dial_of(&e));
                        break;
                    }
                    b"Number" if in_dial.is_some() => {
                        if let Some(dial) = out.dial.as_mut().filter(|d| d.number_url.is_none()) {
                            dial.number_url = attr(&e, "url");
                        }
                    }
                    b"Record" => connected = true,
                    _ => {}
                }
            }
            Event::End(_) => {
                if let Some(o) = open.take_if(|o| o.depth == depth) {
                    finish(o, &mut out);
                }
                if in_dial == Some(depth) {
                    break;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            other => {
                if !add_text(open.as_mut(), other) {
                    break;
                }
            }
        }
    }
    out
}

/// How a call ends when its TwiML's first verb is `<Reject>`: Twilio does not answer it and it
/// ends `busy` (`reason="busy"`) or `no-answer` (`rejected`, the default); `None` when the first
/// verb is anything else (a `<Reject>` later on only hangs up an answered call).
pub(super) fn rejected(twiml: &str) -> Option<&'static str> {
    let mut reader = quick_xml::Reader::from_str(twiml);
    let mut depth = 0usize;
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => continue,
        };
        // The first element is `<Response>`; the first one inside it is the first verb.
        if depth == 0 {
            if e.local_name().as_ref() != b"Response" || empty {
                return None;
            }
            depth = 1;
            continue;
        }
        if e.local_name().as_ref() != b"Reject" {
            return None;
        }
        return Some(match attr(&e, "reason").as_deref() {
            Some("busy") => "busy",
            _ => "no-answer",
        });
    }
}

/// Adds a text, CDATA or entity event to the open element (if any); false: it could not be
/// decoded (reading stops).
fn add_text(open: Option<&mut Open>, event: Event<'_>) -> bool {
    let Some(o) = open else {
        return true;
    };
    match event {
        Event::Text(t) => match t.decode() {
            Ok(text) => o.raw.push_str(&text),
            Err(_) => return false,
        },
        // Escaped so that the unescaping at the element's end gives it back as it was.
        Event::CData(c) => match c.decode() {
            Ok(text) => o.raw.push_str(&quick_xml::escape::escape(text.as_ref())),
            Err(_) => return false,
        },
        Event::GeneralRef(r) => match r.decode() {
            Ok(name) => {
                o.raw.push('&');
                o.raw.push_str(&name);
                o.raw.push(';');
            }
            Err(_) => return false,
        },
        _ => {}
    }
    true
}

/// Adds what a closed `<Say>`, `<Play>` or `<Number>` held to `out`.
fn finish(o: Open, out: &mut VoiceTwiml) {
    let text = quick_xml::escape::unescape(&o.raw)
        .map(|t| t.into_owned())
        .unwrap_or_else(|_| o.raw.clone());
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match o.kind {
        Kind::Number => {
            if let Some(dial) = out.dial.as_mut() {
                dial.number = Some(bounded(text));
            }
        }
        Kind::Say if out.heard.len() < MAX_HEARD => out.heard.push(bounded(text)),
        Kind::Play if out.heard.len() < MAX_HEARD => {
            out.heard.push(bounded(&format!("play:{text}")));
        }
        _ => {}
    }
}

impl Sandbox {
    /// `heard` as a call keeps it: after each `play:{url}` of audio on 127.0.0.1 (the app, in
    /// development and tests), `play-bytes:{n}` with the size of what that URL served when the
    /// sandbox fetched it (nothing when it could not). At most [`MAX_HEARD`] entries.
    pub(super) async fn played(&self, heard: Vec<String>) -> Vec<String> {
        let mut out = Vec::with_capacity(heard.len());
        for entry in heard {
            let local = entry
                .strip_prefix("play:")
                .and_then(|u| url::Url::parse(u).ok())
                .filter(|u| u.host_str() == Some("127.0.0.1"));
            out.push(entry);
            if let Some(url) = local {
                if let Some(n) = self.audio_bytes(url.as_str()).await {
                    out.push(format!("play-bytes:{n}"));
                }
            }
        }
        out.truncate(MAX_HEARD);
        out
    }

    /// How many bytes `url` serves (GET), counted up to [`MAX_PLAY_BYTES`]; `None` when it
    /// answers with an error or cannot be reached.
    async fn audio_bytes(&self, url: &str) -> Option<u64> {
        let mut res = self.http.get(url).send().await.ok()?;
        if !res.status().is_success() {
            tracing::info!(url, status = %res.status(), "a <Play> URL answered with an error");
            return None;
        }
        let mut n = 0u64;
        while let Some(chunk) = res.chunk().await.ok()? {
            n += chunk.len() as u64;
            if n >= MAX_PLAY_BYTES {
                return Some(MAX_PLAY_BYTES);
            }
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_first_reject_leaves_a_call_unanswered() {
        let head = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
        assert_eq!(
            rejected(&format!("{head}<Response><Reject/></Response>")),
            Some("no-answer")
        );
        assert_eq!(
            rejected(r#"<Response><Reject reason="busy"/></Response>"#),
            Some("busy")
        );
        assert_eq!(
            rejected(r#"<Response> <Reject reason="rejected"></Reject></Response>"#),
            Some("no-answer")
        );
        for answered in [
            "<Response><Say>hi</Say><Reject/></Response>",
            "<Response/>",
            "<Reject/>",
            "",
            "<Response><Dial>+1</Dial></Response>",
        ] {
            assert_eq!(rejected(answered), None, "{answered}");
        }
    }

    #[test]
    fn what_is_played_before_the_dial_is_heard() {
        let t = read_voice(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n  <Say voice=\"alice\"> This call may be recorded &amp; kept. </Say>\n  <Play>http://127.0.0.1:8080/consent.wav</Play>\n  <Dial record=\"record-from-answer-dual\" recordingStatusCallback=\"https://app.example/rec?a=1&amp;b=2\" timeout=\"20\">\n    <Number url=\"https://app.example/whisper\">+14155550122</Number>\n  </Dial>\n  <Say>not heard before the dial</Say>\n</Response>",
        );
        assert_eq!(
            t.heard,
            [
                "This call may be recorded & kept.",
                "play:http://127.0.0.1:8080/consent.wav"
            ]
        );
        assert_eq!(
            t.dial,
            Some(Dial {
                record: true,
                recording_status_callback: Some("https://app.example/rec?a=1&b=2".into()),
                number: Some("+14155550122".into()),
                number_url: Some("https://app.example/whisper".into()),
            })
        );
    }

    #[test]
    fn a_dial_records_only_when_asked_to() {
        for (twiml, record) in [
            (
                "<Response><Dial record=\"record-from-ringing\">+14155550122</Dial></Response>",
                true,
            ),
            (
                "<Response><Dial record=\"do-not-record\">+14155550122</Dial></Response>",
                false,
            ),
            ("<Response><Dial>+14155550122</Dial></Response>", false),
            ("<Response><Dial record=\"true\"/></Response>", false),
        ] {
            let dial = read_voice(twiml).dial.expect(twiml);
            assert_eq!(dial.record, record, "{twiml}");
            assert_eq!(dial.recording_status_callback, None);
            assert_eq!(dial.number_url, None);
        }
        let plain = read_voice("<Response><Dial><Number>+14155550122</Number></Dial></Response>");
        let dial = plain.dial.unwrap();
        assert_eq!(dial.number.as_deref(), Some("+14155550122"));
        assert_eq!(dial.number_url, None);
    }

    #[test]
    fn a_whisper_without_a_dial_is_heard_whole_within_bounds() {
        let t = read_voice(
            "<Response><Say><![CDATA[Calls <are> recorded]]></Say><Pause length=\"1\"/><Say><prosody rate=\"slow\">for training</prosody></Say><Play/><Say>  </Say><Gather><Say>Press 1</Say></Gather></Response>",
        );
        assert_eq!(t.heard, ["Calls <are> recorded", "for training", "Press 1"]);
        assert_eq!(t.dial, None);
        // A voicemail: what is played once the recording runs is not heard before it.
        let voicemail = read_voice(
            "<Response><Say>Calls are recorded.</Say><Say>Leave a message.</Say><Record maxLength=\"120\"/><Say>Goodbye.</Say></Response>",
        );
        assert_eq!(voicemail.heard, ["Calls are recorded.", "Leave a message."]);

        let many = format!("<Response>{}</Response>", "<Say>hi</Say>".repeat(12));
        assert_eq!(read_voice(&many).heard.len(), MAX_HEARD);
        let long = format!("<Response><Say>{}</Say></Response>", "é".repeat(1500));
        assert_eq!(read_voice(&long).heard[0].chars().count(), MAX_HEARD_CHARS);
        // Not TwiML, or broken after the first verb: what could be read.
        for nothing in ["", "OK", "<Response/>", "{\"say\":\"json\"}"] {
            assert_eq!(read_voice(nothing), VoiceTwiml::default(), "{nothing}");
        }
        assert_eq!(
            read_voice("<Response><Say>first</Say><Say>second</Response>").heard,
            ["first"]
        );
    }
}
