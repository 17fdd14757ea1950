//! SMS compliance keywords: the one table of the words that opt a person out of messages, back
//! in, or ask for help, and the classifier that reads an inbound SMS body against it.
//!
//! Carriers (CTIA) require STOP and HELP to work, Twilio's defaults add STOPALL, UNSUBSCRIBE,
//! CANCEL, END and QUIT (opt-out), START, YES and UNSTOP (opt-in) and INFO (help), and the US FCC
//! 2025 consent rule says a revocation in any reasonable wording must be honoured. A false opt-out
//! costs less than a missed one, but ordinary conversation ("cancel my appointment", "yes see you
//! at 5") must not count, so:
//!
//! - a keyword counts when it is the whole message (after [`normalise`]);
//! - a longer opt-out counts when it is a short phrase that leads with a stop word and then only
//!   talks about messaging ("stop texting me"), or that holds an opt-out phrase anywhere ("please
//!   remove me from your list"), unless that phrase is negated ("don't stop texting me");
//! - opt-in and help are whole-message matches only;
//! - a message of more than 12 words is always an ordinary message.

use serde::{Deserialize, Serialize};

/// What a compliance keyword asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Keyword {
    /// Stop sending messages to this person.
    OptOut,
    /// Start sending messages again.
    OptIn,
    /// Reply with who is sending and how to opt out.
    Help,
}

impl Keyword {
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::OptOut => "opt-out",
            Keyword::OptIn => "opt-in",
            Keyword::Help => "help",
        }
    }
}

/// Whole messages (normalised) that opt out.
pub const OPT_OUT_WORDS: &[&str] = &[
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
    "opt out",
    "arret",
    "arrete",
    "arretez",
    "arreter",
    "desabonner",
    "desinscrire",
    "stop please",
    "please stop",
    "unsubscribe me",
    "unsub",
];

/// Whole messages (normalised) that opt back in.
pub const OPT_IN_WORDS: &[&str] = &[
    "start",
    "unstop",
    "yes",
    "optin",
    "opt in",
    "subscribe",
    "resubscribe",
    "yes please",
    "start please",
];

/// Whole messages (normalised) that ask for help.
pub const HELP_WORDS: &[&str] = &["help", "info", "aide", "help please"];

/// A message of more words than this (normalised) is never a keyword.
const MAX_WORDS: usize = 12;

/// Words a message may lead with to be read as "stop ..." ("opt out" is matched as two words).
const STOP_LEADS: &[&str] = &[
    "stop",
    "stopall",
    "unsubscribe",
    "unsub",
    "revoke",
    "optout",
    "arret",
    "quit",
    "end",
    "cancel",
];

/// Politeness a message may open with before its stop word ("please stop it").
const POLITE_OPENERS: &[&str] = &["please", "pls", "plz"];

/// The only words that may follow a leading stop word: they talk about the messages, not about
/// something else to stop ("stop by the office", "stop laughing").
const STOP_FOLLOWERS: &[&str] = &[
    "texting",
    "text",
    "texts",
    "txt",
    "sending",
    "send",
    "messaging",
    "messages",
    "message",
    "msgs",
    "msg",
    "sms",
    "contacting",
    "contact",
    "calling",
    "me",
    "us",
    "my",
    "number",
    "this",
    "these",
    "that",
    "it",
    "now",
    "please",
    "pls",
    "plz",
    "all",
    "from",
    "list",
    "the",
    "them",
    "any",
    "more",
    "consent",
    "immediately",
    "thanks",
    "thank",
    "you",
    "thx",
    "to",
    "stop",
    "spamming",
    "spam",
    "bothering",
    "subscription",
    "alerts",
    "notifications",
    "marketing",
    "again",
    "ever",
    "anymore",
    "forever",
    "your",
    "mailing",
    "off",
    "of",
];

/// Phrases that opt out wherever they stand in a short message, unless negated.
const OPT_OUT_PHRASES: &[&[&str]] = &[
    &["stop", "texting"],
    &["stop", "messaging"],
    &["stop", "sending"],
    &["stop", "contacting"],
    &["dont", "text"],
    &["do", "not", "text"],
    &["dont", "message"],
    &["do", "not", "message"],
    &["dont", "contact"],
    &["do", "not", "contact"],
    &["no", "more", "texts"],
    &["no", "more", "messages"],
    &["remove", "me"],
    &["remove", "my", "number"],
    &["take", "me", "off"],
    &["unsubscribe"],
    &["opt", "me", "out"],
    &["opt", "out"],
    &["leave", "me", "alone"],
];

/// What an inbound message asks for, if it is a compliance keyword (None: an ordinary message).
pub fn classify(body: &str) -> Option<Keyword> {
    let text = normalise(body);
    if text.is_empty() {
        return None;
    }
    let words: Vec<&str> = text.split(' ').collect();
    if words.len() > MAX_WORDS {
        return None;
    }
    let text = text.as_str();
    if OPT_OUT_WORDS.contains(&text) {
        return Some(Keyword::OptOut);
    }
    if OPT_IN_WORDS.contains(&text) {
        return Some(Keyword::OptIn);
    }
    if HELP_WORDS.contains(&text) {
        return Some(Keyword::Help);
    }
    if leads_with_stop(&words) || has_opt_out_phrase(&words) {
        return Some(Keyword::OptOut);
    }
    None
}

/// The body as the classifier reads it: lower case, accents folded (à â ä → a, é è ê ë → e,
/// î ï → i, ô ö → o, ù û ü → u, ç → c, and their upper-case forms; also á í ó ú), apostrophes
/// removed so "don't" reads "dont", every other character that is not a letter or digit a space,
/// spaces collapsed, trimmed.
pub fn normalise(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut space_due = false;
    for c in body.chars() {
        if is_apostrophe(c) {
            continue;
        }
        // Combining accents (an "e" then U+0302) are dropped; full-width forms read as ASCII.
        if ('\u{0300}'..='\u{036F}').contains(&c) {
            continue;
        }
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        };
        let c = fold_accent(c);
        if c.is_alphanumeric() {
            if space_due && !out.is_empty() {
                out.push(' ');
            }
            space_due = false;
            out.extend(c.to_lowercase());
        } else {
            space_due = true;
        }
    }
    out
}

/// Apostrophes, straight and curly, which join a word instead of splitting it.
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}')
}

/// The unaccented lower-case letter for the accented Latin letters French and Spanish use; any
/// other character unchanged.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' | 'Ä' | 'Á' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'î' | 'ï' | 'í' | 'Î' | 'Ï' | 'Í' => 'i',
        'ô' | 'ö' | 'ó' | 'Ô' | 'Ö' | 'Ó' => 'o',
        'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' | 'Ú' => 'u',
        'ç' | 'Ç' => 'c',
        other => other,
    }
}

/// "stop texting me", "please stop it", "unsubscribe me from this list", "revoke consent": a stop
/// word first (after an optional "please"), then only words about the messages.
fn leads_with_stop(words: &[&str]) -> bool {
    let words = match words {
        [first, rest @ ..] if POLITE_OPENERS.contains(first) => rest,
        _ => words,
    };
    let rest = match words {
        ["opt", "out", rest @ ..] => rest,
        [first, rest @ ..] if STOP_LEADS.contains(first) => rest,
        _ => return false,
    };
    rest.iter().all(|w| STOP_FOLLOWERS.contains(w))
}

/// Whether an opt-out phrase stands in the words, with no negation anywhere before it ("don't
/// ever stop texting me", "I didn't unsubscribe") and only words about the messages after it
/// ("remove me from your list", not "remove me from the 5pm class"; "don't text me", not "don't
/// text Sarah"). A last word STOP or UNSUBSCRIBE in a short message counts too ("Wrong number.
/// STOP").
fn has_opt_out_phrase(words: &[&str]) -> bool {
    let phrased = OPT_OUT_PHRASES.iter().any(|phrase| {
        (0..words.len()).any(|i| {
            words[i..].starts_with(phrase)
                && !negated(&words[..i])
                && words[i + phrase.len()..]
                    .iter()
                    .all(|w| STOP_FOLLOWERS.contains(w))
        })
    });
    let last_word = match words {
        [before @ .., "stop" | "unsubscribe" | "stopall"] => words.len() <= 6 && !negated(before),
        _ => false,
    };
    phrased || last_word
}

/// Whether the words before a phrase hold a negation.
fn negated(before: &[&str]) -> bool {
    before.iter().any(|w| {
        matches!(
            *w,
            "dont" | "didnt" | "never" | "not" | "cant" | "cannot" | "shouldnt" | "wouldnt"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_all(inputs: &[&str], expected: Option<Keyword>) {
        for input in inputs {
            assert_eq!(
                classify(input),
                expected,
                "classify({input:?}) (normalised {:?})",
                normalise(input)
            );
        }
    }

    #[test]
    fn the_reviewers_cases() {
        assert_all(
            &[
                "Quit texting me",
                "End texts",
                "Stop spamming me",
                "Wrong number. STOP",
                "Please remove my number",
                "unsub",
                "ARRE\u{0302}T",
                "ＳＴＯＰ",
                "cancel my subscription",
            ],
            Some(Keyword::OptOut),
        );
        assert_all(
            &[
                "Remove me from the 5pm class",
                "Take me off the Friday shift",
                "Don't text Sarah, she's asleep",
                "I didn't unsubscribe",
                "Don't ever stop texting me",
                "I never said stop texting",
                "I can't stop",
                "cancel my appointment",
                "end of story",
            ],
            None,
        );
    }

    #[test]
    fn opt_out_variants() {
        let inputs = [
            "STOP",
            "stop",
            "Stop",
            "sToP",
            "STOP!!!",
            "Stop.",
            " stop ",
            "stop\n",
            "stop\r\n",
            "\tSTOP\t",
            "stop 🛑",
            "🛑 STOP 🛑",
            "STOPALL",
            "StopAll",
            "STOP ALL",
            "Unsubscribe",
            "UNSUBSCRIBE!",
            "Unsubscribe me",
            "CANCEL",
            "cancel",
            "END",
            "End.",
            "QUIT",
            "quit",
            "Revoke",
            "REVOKE",
            "OPTOUT",
            "OPT-OUT",
            "opt out",
            "Opt Out!",
            "ARRÊT",
            "Arrêt",
            "arret",
            "Arrête",
            "ARRETER",
            "Arrêter",
            "Désabonner",
            "désinscrire",
            "Stop please",
            "please stop",
            "Please STOP!",
            "Stop texting me!",
            "stop sending me messages",
            "Stop messaging",
            "stop contacting me",
            "STOP this number",
            "Stop it",
            "STOP NOW",
            "stop now please",
            "unsubscribe me from this list",
            "Revoke consent",
            "Stop all messages",
            "stop texting me pls",
            "Stop. Thanks",
            "stop, thank you",
            "stop txt",
            "STOP STOP STOP",
            "pls stop sending these",
            "please revoke",
            "Remove me from your list",
            "Take me off this list",
            "Do not text me again",
            "don't text me",
            "Don’t text me anymore",
            "please don't message me",
            "do not contact me",
            "No more texts please",
            "no more messages!!",
            "Please stop texting me",
            "I want to opt out",
            "opt out of this list",
            "Opt me out please",
            "leave me alone",
            "how do I unsubscribe",
        ];
        assert_all(&inputs, Some(Keyword::OptOut));
    }

    #[test]
    fn opt_in_variants() {
        let inputs = [
            "START",
            "Start",
            "start!",
            "UNSTOP",
            "YES",
            "Yes.",
            "yes!!",
            "OPTIN",
            "opt-in",
            "Opt In",
            "subscribe",
            "Resubscribe",
            "yes please",
            "Start please",
        ];
        assert_all(&inputs, Some(Keyword::OptIn));
    }

    #[test]
    fn help_variants() {
        let inputs = [
            "HELP",
            "help?",
            "Help!",
            " help ",
            "INFO",
            "info.",
            "AIDE",
            "Aide",
            "help please",
        ];
        assert_all(&inputs, Some(Keyword::Help));
    }

    #[test]
    fn ordinary_messages() {
        let inputs = [
            "",
            "   ",
            "!!!",
            "🛑",
            "\n\t",
            "cancel my appointment",
            "cancel my 3pm appointment",
            "the end of the week",
            "The meeting will end at 3",
            "yes see you at 5",
            "Yes, see you there",
            "I can't stop laughing",
            "Stop laughing",
            "stop by the office at 5",
            "help me",
            "help me find the address",
            "Can you help me with my bill?",
            "info on pricing?",
            "start the car",
            "quit my job today",
            "don't stop texting me",
            "Don't stop sending me these!",
            "never stop messaging me",
            "please don't unsubscribe me",
            "ok",
            "thanks",
        ];
        assert_all(&inputs, None);
    }

    #[test]
    fn long_messages_are_not_keywords() {
        let long = "Hi there, just checking in about tomorrow afternoon. I will stop by the \
                    pharmacy on the way over, then pick up the kids from school, and we can all \
                    head to the park together if the weather holds.";
        assert!(long.len() > 160, "the message is {} chars", long.len());
        assert_eq!(classify(long), None);
    }

    #[test]
    fn every_listed_word_classifies_as_its_kind() {
        let lists = [
            (OPT_OUT_WORDS, Keyword::OptOut),
            (OPT_IN_WORDS, Keyword::OptIn),
            (HELP_WORDS, Keyword::Help),
        ];
        for (words, kind) in lists {
            for word in words {
                assert_eq!(normalise(word), *word, "{word:?} is not in normalised form");
                assert_eq!(classify(word), Some(kind), "classify({word:?})");
                let shouted = format!("  {}!!", word.to_uppercase());
                assert_eq!(classify(&shouted), Some(kind), "classify({shouted:?})");
            }
        }
    }

    #[test]
    fn internal_tables_are_normalised() {
        for word in STOP_LEADS
            .iter()
            .chain(POLITE_OPENERS)
            .chain(STOP_FOLLOWERS)
        {
            assert_eq!(normalise(word), *word, "{word:?} is not in normalised form");
        }
        for phrase in OPT_OUT_PHRASES {
            assert!(!phrase.is_empty());
            for word in *phrase {
                assert_eq!(
                    normalise(word),
                    *word,
                    "{word:?} in {phrase:?} is not normalised"
                );
            }
        }
    }

    #[test]
    fn normalise_folds_case_accents_and_punctuation() {
        assert_eq!(normalise("ARRÊT !"), "arret");
        assert_eq!(normalise("Don’t  TEXT\nme"), "dont text me");
        assert_eq!(normalise("don't"), "dont");
        assert_eq!(normalise("  Stop!!! 🛑 "), "stop");
        assert_eq!(normalise("OPT-OUT"), "opt out");
        assert_eq!(normalise("àâäéèêëîïôöùûüç"), "aaaeeeeiioouuuc");
        assert_eq!(normalise("ÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ"), "aaaeeeeiioouuuc");
        assert_eq!(normalise("call me at 5pm"), "call me at 5pm");
        assert_eq!(normalise(""), "");
        assert_eq!(normalise(" \t\n!?"), "");
    }

    #[test]
    fn keyword_names() {
        assert_eq!(Keyword::OptOut.as_str(), "opt-out");
        assert_eq!(Keyword::OptIn.as_str(), "opt-in");
        assert_eq!(Keyword::Help.as_str(), "help");
    }
}
