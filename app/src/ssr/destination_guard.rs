//! The destination guard: before a call or text is written or any provider asked, where it may
//! go (the shipped blocked ranges, the org's allowed countries, its maximum prices); and in the
//! transaction that writes it, the velocity rule: the org's figure of sends to one destination (a
//! number prefix, or a country abroad) within an hour pauses sends there — texts are held, calls
//! refused — tells the owners and admins and goes on the record, until one of them resumes it.
//! A refused destination is counted per day and reason.

use sqlx::PgConnection;
use telephony::E164;
use time::OffsetDateTime;

use super::db;
use super::errors::{DestinationError, Refusal};
use super::{blocked_prefixes, format, words, AppState};
use crate::model::destinations::{Channel, DestKey, DEFAULT_VELOCITY};

/// Where a call or text may go: the destinations the velocity rule counts it under, and the
/// rule's figure (from `check`, for `velocity`).
#[derive(Debug, Clone)]
pub struct Verdict {
    org_id: i64,
    /// The org's name and slug, for the notice of a pause.
    org: (String, String),
    channel: Channel,
    keys: Vec<DestKey>,
    per_hour: i32,
}

/// The velocity rule's answer, in the transaction that writes the send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Velocity {
    Go,
    /// Sends to `key` are paused (perhaps by this very send): a text is held under the pause, a
    /// call refused.
    Paused {
        pause_id: i64,
        key: DestKey,
    },
}

/// Whether `channel` may go to `to` at `price_micros` (a text's price; a call's per minute) in
/// the org, before anything is written: a blocked range, a country the org does not allow (its
/// own is always allowed), a price over its maximum, or (calls) a destination paused now is
/// refused and counted. A text to a paused destination passes: `velocity` holds it.
pub async fn check(
    state: &AppState,
    org_id: i64,
    channel: Channel,
    to: &E164,
    price_micros: i64,
) -> Result<Verdict, DestinationError> {
    let now = state.clock.now();
    let digits = to.as_str().trim_start_matches('+');
    if let Some(range) = blocked_prefixes::blocked(digits) {
        let shown = shown_prefix(&range.prefix, to.country_code());
        let kind = range.kind.clone();
        return Err(refused(state, org_id, Refusal::Blocked { shown, kind }, now).await);
    }
    let region = to.region();
    let prefix = DestKey::prefix_of(to.as_str());
    let country_key = region.clone().map(DestKey::Country);
    let asked: Vec<String> = std::iter::once(&prefix)
        .chain(country_key.as_ref())
        .map(DestKey::as_key)
        .collect();
    let rules = db::destinations::send_rules(&state.pool, org_id, &asked)
        .await?
        .ok_or(DestinationError::Db(sqlx::Error::RowNotFound))?;
    let abroad = region.as_deref() != Some(rules.country.as_str());
    let allowed = region.as_ref().is_some_and(|r| {
        rules
            .allowed_countries
            .as_ref()
            .is_some_and(|list| list.contains(r))
    });
    if abroad && !allowed {
        let cc = to.country_code();
        let r = Refusal::Country {
            channel,
            country: region,
            cc,
        };
        return Err(refused(state, org_id, r, now).await);
    }
    let max = match channel {
        Channel::Sms => rules.max_sms_micros,
        Channel::Call => rules.max_call_minute_micros,
    };
    if let Some(max_micros) = max.filter(|m| price_micros > *m) {
        let r = Refusal::Price {
            channel,
            micros: price_micros,
            max_micros,
        };
        return Err(refused(state, org_id, r, now).await);
    }
    // A business texting its own country is the normal case: abroad, the country counts too.
    let mut keys = vec![prefix];
    keys.extend(country_key.filter(|_| abroad));
    let per_hour = rules.velocity_per_hour.unwrap_or(DEFAULT_VELOCITY);
    let paused = keys.iter().find(|k| rules.paused.contains(&k.as_key()));
    if let (Channel::Call, Some(key)) = (channel, paused) {
        let r = Refusal::Paused {
            channel,
            key: key.clone(),
            per_hour,
        };
        return Err(refused(state, org_id, r, now).await);
    }
    Ok(Verdict {
        org_id,
        org: (rules.name, rules.slug),
        channel,
        keys,
        per_hour,
    })
}

/// The refusal `r`, counted (a failure to count is the error instead).
async fn refused(
    state: &AppState,
    org_id: i64,
    r: Refusal,
    now: OffsetDateTime,
) -> DestinationError {
    match db::destinations::count_refusal(&state.pool, org_id, r.reason(), now).await {
        Ok(()) => DestinationError::Refused(r),
        Err(e) => DestinationError::Db(e),
    }
}

/// A refused call to a paused destination (from `velocity`'s answer), counted in `tx`.
pub async fn refuse_paused(
    tx: &mut PgConnection,
    v: &Verdict,
    key: DestKey,
    now: OffsetDateTime,
) -> Result<DestinationError, sqlx::Error> {
    db::destinations::count_refusal(&mut *tx, v.org_id, "paused", now).await?;
    Ok(DestinationError::Refused(Refusal::Paused {
        channel: v.channel,
        key,
        per_hour: v.per_hour,
    }))
}

/// A number's start as people write it: "+1 900", "+979".
fn shown_prefix(prefix: &str, country_code: u16) -> String {
    let cc = country_code.to_string();
    match prefix.strip_prefix(cc.as_str()) {
        Some(rest) if !rest.is_empty() => format!("+{cc} {rest}"),
        _ => format!("+{prefix}"),
    }
}

/// The velocity rule, in the transaction that writes the send (`tx`, at `now`): under the locks of
/// the send's destinations, a destination paused now, or one whose sends since the window began
/// (an hour ago, or the last resume of any of them) reach the org's figure, pauses this send; the
/// latter opens its pause, tells the owners and admins and goes on the record, in `tx`.
pub async fn velocity(
    tx: &mut PgConnection,
    state: &AppState,
    user_id: i64,
    v: &Verdict,
    now: OffsetDateTime,
) -> Result<Velocity, DestinationError> {
    // Locked in one order everywhere: two sends never wait for each other's second lock.
    let mut keys: Vec<String> = v.keys.iter().map(DestKey::as_key).collect();
    keys.sort();
    for k in &keys {
        db::destinations::lock_key(&mut *tx, v.org_id, k).await?;
    }
    if let Some(paused) = db::destinations::open_pause(&mut *tx, v.org_id, &keys).await? {
        if let Some(key) = v.keys.iter().find(|k| k.as_key() == paused.dest_key) {
            let key = key.clone();
            return Ok(Velocity::Paused {
                pause_id: paused.id,
                key,
            });
        }
    }
    let since = db::destinations::window_start(&mut *tx, v.org_id, &keys, now).await?;
    for key in &v.keys {
        let n = sends(&mut *tx, v, key, since).await?;
        if n >= i64::from(v.per_hour) {
            let pause_id = open(&mut *tx, state, (user_id, v), key, (n, now)).await?;
            let key = key.clone();
            return Ok(Velocity::Paused { pause_id, key });
        }
    }
    Ok(Velocity::Go)
}

/// The org's sends of the verdict's kind to `key` since `since`, counted up to the rule's figure.
async fn sends(
    tx: &mut PgConnection,
    v: &Verdict,
    key: &DestKey,
    since: OffsetDateTime,
) -> Result<i64, sqlx::Error> {
    use db::destinations as d;
    let cap = i64::from(v.per_hour);
    let org = v.org_id;
    match (v.channel, key) {
        (Channel::Sms, DestKey::Prefix(p)) => d::messages_to_prefix(tx, (org, p), since, cap).await,
        (Channel::Sms, DestKey::Country(c)) => {
            d::messages_to_country(tx, (org, c), since, cap).await
        }
        (Channel::Call, DestKey::Prefix(p)) => d::calls_to_prefix(tx, (org, p), since, cap).await,
        (Channel::Call, DestKey::Country(c)) => d::calls_to_country(tx, (org, c), since, cap).await,
    }
}

/// Opens the pause of `key` (its `sends` in the hour tripped it at `now`), on the record and
/// told to the owners and admins; its id.
async fn open(
    tx: &mut PgConnection,
    state: &AppState,
    (user_id, v): (i64, &Verdict),
    key: &DestKey,
    (sends, now): (i64, OffsetDateTime),
) -> Result<i64, sqlx::Error> {
    let k = key.as_key();
    let new = db::destinations::NewPause {
        org_id: v.org_id,
        key: &k,
        kind: v.channel.as_str(),
        sends,
        per_hour: v.per_hour,
        at: now,
    };
    let pause_id = db::destinations::insert_pause(&mut *tx, &new).await?;
    // Nobody chose it: the rule paused it, on the send of `triggered_by`.
    let entry = db::audit::Entry {
        actor_id: None,
        org_id: Some(v.org_id),
        action: "destination.paused",
        target: &k,
        details: serde_json::json!({
            "pause": pause_id,
            "kind": v.channel.as_str(),
            "sends_in_hour": sends,
            "per_hour": v.per_hour,
            "triggered_by": user_id,
        }),
        ip: None,
    };
    db::audit::record(&mut *tx, entry).await?;
    tell_admins(tx, state, v, (key, pause_id), now).await?;
    Ok(pause_id)
}

/// The owners and admins hear of a pause as of a budget alert: in the app, by e-mail (when mail
/// is configured) and through the org's webhooks (`destination.paused`).
async fn tell_admins(
    tx: &mut PgConnection,
    state: &AppState,
    v: &Verdict,
    (key, pause_id): (&DestKey, i64),
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let (name, slug) = (v.org.0.as_str(), v.org.1.as_str());
    let (title, body) =
        words::paused_notice((name, slug), v.channel, key, v.per_hour, &state.public_url);
    let link = format!("/o/{slug}/admin/destinations");
    let to = db::alerts::recipients(&mut *tx, v.org_id, None).await?;
    let ids: Vec<i64> = to.iter().map(|r| r.user_id).collect();
    let note = db::alerts::NewNotification {
        org_id: v.org_id,
        title: &title,
        body: &body,
        link: &link,
        at: now,
    };
    db::alerts::notify(&mut *tx, &ids, &note).await?;
    if state.mailer.is_some() {
        for r in &to {
            let dedupe_key = format!("destination-pause:{pause_id}:{}", r.user_id);
            let mail = db::alerts::NewMail {
                org_id: Some(v.org_id),
                to: &r.email,
                subject: &title,
                body: &body,
                dedupe_key: &dedupe_key,
                at: now,
            };
            db::alerts::enqueue_mail(&mut *tx, &mail).await?;
        }
    }
    let event_id = format!("evt_destination_pause_{pause_id}");
    let payload = serde_json::json!({
        "id": event_id,
        "type": "destination.paused",
        "created": format::rfc3339(now),
        "org": slug,
        "data": {
            "pause_id": pause_id,
            "destination": key.as_key(),
            "kind": v.channel.as_str(),
            "per_hour": v.per_hour,
        }
    });
    let event = (event_id.as_str(), "destination.paused");
    db::alerts::enqueue_deliveries(&mut *tx, v.org_id, event, &payload, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numbers_start_is_written_with_its_country_code_apart() {
        assert_eq!(shown_prefix("90900", 90), "+90 900");
        assert_eq!(shown_prefix("1900", 1), "+1 900");
        assert_eq!(shown_prefix("979", 979), "+979");
        assert_eq!(shown_prefix("881", 881), "+881");
    }
}
