//! The opt-out ledger: the use cases of the opt-outs page and `/v1/opt-outs`, the keywords of
//! inbound texts (STOP, START, HELP and their variants) recorded with their proof and answered
//! once, the provider's own opt-outs folded in, and the check every send passes before any
//! provider is asked.
//!
//! Who is opted out is one row per (org, number). A recipient's own opt-out (a keyword, or the
//! provider refusing a send as opted out) is lifted only by the recipient texting START; an entry
//! an admin added or imported can also be lifted by an owner or admin, with a reason. Every change
//! is an event with its proof; changes by people are also in the audit log.

use telephony::E164;

use super::db::{self, opt_outs::EntryRow, sms::InboundNumber};
use super::errors::SmsError;
use super::{format, AppState};
use crate::model::keywords::{self, Keyword};
use crate::model::opt_outs::*;

/// Whether a send from the org to `to` may go: refused when the ledger has it. Run before
/// anything is written; the fence repeats it (and asks a provider that keeps a list) just before
/// the provider is asked to send.
pub async fn check_send(state: &AppState, org_id: i64, to: &E164) -> Result<(), SmsError> {
    match db::opt_outs::entry(&state.pool, org_id, to.as_str()).await? {
        Some(row) => Err(SmsError::OptedOut(refusal(&row))),
        None => Ok(()),
    }
}

/// Whether `e164` is opted out of the org's texts, said as a send to them is refused.
pub async fn standing(
    db: impl sqlx::PgExecutor<'_>,
    org_id: i64,
    e164: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(db::opt_outs::entry(db, org_id, e164)
        .await?
        .map(|row| refusal(&row)))
}

/// Why a send to an opted-out number is refused, in the sender's words.
pub fn refusal(row: &EntryRow) -> String {
    let when = format::utc_date(row.since);
    let how = match OptOutSource::parse(&row.source) {
        Some(OptOutSource::Keyword) => format!(
            "replied {} on {when}",
            row.body
                .as_deref()
                .map(|b| format!("“{}”", b.chars().take(40).collect::<String>()))
                .unwrap_or_else(|| "STOP".into())
        ),
        Some(OptOutSource::Provider) => format!("the provider reported it on {when}"),
        _ => format!("an admin added them on {when}"),
    };
    format!(
        "{} opted out of this org's texts ({how}). Texts to them are not sent; only they can opt back in, by texting START.",
        row.e164
    )
}

/// The provider refused a send as opted out (Twilio 21610), or its list says so: the number goes
/// in the ledger (once), with the message that learned it.
pub async fn provider_opt_out(
    state: &AppState,
    org_id: i64,
    e164: &str,
    message_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    let now = state.clock.now();
    let mut tx = state.pool.begin().await?;
    db::opt_outs::lock_number(&mut tx, org_id, e164).await?;
    let held = db::opt_outs::source_of(&mut tx, org_id, e164).await?;
    // Already the recipient's own: nothing to add. An admin's entry becomes theirs.
    if held
        .as_deref()
        .and_then(OptOutSource::parse)
        .is_none_or(|s| !s.by_recipient())
    {
        let event = db::opt_outs::NewEvent {
            org_id,
            e164,
            action: OptOutAction::OptOut.as_str(),
            source: OptOutSource::Provider.as_str(),
            our_e164: None,
            message_id,
            body: None,
            reason: "The provider refused a text as opted out.",
            actor_id: None,
            replied: false,
            at: now,
        };
        let id = db::opt_outs::insert_event(&mut tx, &event).await?;
        let source = (OptOutSource::Provider.as_str(), event.reason, BY_ADMINS);
        db::opt_outs::claim(&mut tx, org_id, e164, source, (now, id)).await?;
    }
    tx.commit().await
}

/// An inbound text that is a keyword, recorded with its proof under the number's lock (in the
/// transaction that stored the message): what to answer, if anything. An opt-out or an opt-in
/// that changes nothing (a second STOP) is recorded and not answered again; HELP always is.
pub async fn keyword_received(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    n: &InboundNumber,
    (our, from): (&str, &str),
    (message_id, body): (i64, &str),
    kw: Keyword,
) -> Result<Option<String>, sqlx::Error> {
    let now = state.clock.now();
    let org_id = n.org_id;
    db::opt_outs::lock_number(tx, org_id, from).await?;
    let texts = replies_of(&mut *tx, org_id).await?;
    let source = OptOutSource::Keyword.as_str();
    let (action, reply) = match kw {
        Keyword::OptOut => {
            // Confirmed once: not again for a second STOP. An entry an admin added, or the
            // provider's, was never confirmed to them: it becomes their keyword's.
            let held = db::opt_outs::source_of(tx, org_id, from).await?;
            let confirmed = held.as_deref() == Some(OptOutSource::Keyword.as_str());
            (
                OptOutAction::OptOut,
                (!confirmed).then_some(texts.stop_reply),
            )
        }
        Keyword::OptIn => {
            let was = db::opt_outs::delete(tx, org_id, from).await?;
            (OptOutAction::OptIn, was.then_some(texts.start_reply))
        }
        Keyword::Help => {
            // Answered at most once in HELP_EVERY: repeating HELP costs the org nothing more.
            let recently = db::opt_outs::helped_since(tx, org_id, from, now - HELP_EVERY).await?;
            (OptOutAction::Help, (!recently).then_some(texts.help_reply))
        }
    };
    let event = db::opt_outs::NewEvent {
        org_id,
        e164: from,
        action: action.as_str(),
        source,
        our_e164: Some(our),
        message_id: Some(message_id),
        body: Some(body),
        reason: "",
        actor_id: None,
        replied: reply.is_some(),
        at: now,
    };
    let id = db::opt_outs::insert_event(tx, &event).await?;
    if action == OptOutAction::OptOut {
        let over = ["admin", "import", "provider"];
        db::opt_outs::claim(tx, org_id, from, (source, "", &over), (now, id)).await?;
    }
    Ok(reply)
}

/// The entries a provider's opt-out takes over: those an admin added or imported.
const BY_ADMINS: &[&str] = &["admin", "import"];

/// How often HELP from one number is answered.
const HELP_EVERY: time::Duration = time::Duration::minutes(10);

/// An inbound text's sender as the ledger holds it: E.164, or "+" and digits a numbering plan
/// PhoneHub knows does not cover (an opt-out is never dropped); None for a short code or a name.
pub fn ledger_number(from: &str) -> Option<String> {
    match E164::parse(from, None) {
        Ok(e) => Some(e.as_str().to_string()),
        Err(_) => plain_e164(from).then(|| from.to_string()),
    }
}

/// "+" and 2–15 digits, the first not 0 (the ledger's own check).
pub fn plain_e164(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|d| {
        (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

pub use keywords::classify;

/// The org's replies in force.
async fn replies_of(
    db: impl sqlx::PgExecutor<'_>,
    org_id: i64,
) -> Result<RepliesView, sqlx::Error> {
    let row = db::opt_outs::settings(db, org_id).await?;
    Ok(match row {
        Some(r) => replies_view(&r),
        None => replies_view(&db::opt_outs::SettingsRow {
            org_name: String::new(),
            help_contact: None,
            stop_reply: None,
            start_reply: None,
            help_reply: None,
            updated_at: None,
        }),
    })
}

pub(super) fn replies_view(r: &db::opt_outs::SettingsRow) -> RepliesView {
    let name: String = r.org_name.chars().take(60).collect();
    let contact = r.help_contact.clone().unwrap_or_default();
    RepliesView {
        stop_reply: r.stop_reply.clone().unwrap_or_else(|| default_stop(&name)),
        start_reply: r
            .start_reply
            .clone()
            .unwrap_or_else(|| default_start(&name)),
        help_reply: r
            .help_reply
            .clone()
            .unwrap_or_else(|| default_help(&name, &contact)),
        stop_custom: r.stop_reply.is_some(),
        start_custom: r.start_reply.is_some(),
        help_custom: r.help_reply.is_some(),
        help_contact: contact,
        updated_rfc3339: r.updated_at.map(format::rfc3339),
    }
}

pub fn default_stop(org: &str) -> String {
    format!("{org}: You are unsubscribed and will receive no more messages from us. Reply START to resubscribe.")
}

pub fn default_start(org: &str) -> String {
    format!("{org}: You are resubscribed. Reply STOP to unsubscribe or HELP for help.")
}

pub fn default_help(org: &str, contact: &str) -> String {
    if contact.is_empty() {
        format!("{org}: Reply STOP to unsubscribe, START to resubscribe.")
    } else {
        format!("{org}: For help, {contact}. Reply STOP to unsubscribe.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_replies_name_the_org_and_the_keywords() {
        let stop = default_stop("Acme");
        assert!(stop.starts_with("Acme: ") && stop.contains("START"));
        assert!(default_start("Acme").contains("STOP"));
        assert!(default_help("Acme", "call 555-0100").contains("call 555-0100"));
        assert!(default_help("Acme", "").contains("STOP"));
        // The longest org name still fits the reply's bound.
        let long = "x".repeat(60);
        assert!(default_stop(&long).chars().count() <= MAX_REPLY);
        assert!(
            default_help(&long, &"c".repeat(MAX_CONTACT))
                .chars()
                .count()
                <= MAX_REPLY
        );
    }
}
