//! Destinations: the use cases of the destinations page and `/v1/destinations` — the org's rules
//! (everyone in the org reads them; owners and admins save them, on the record), the shipped
//! blocked list, the refusals counted this month, and the velocity rule's pauses with the texts
//! they hold (owners and admins resume them, on the record, which sends those texts). The guard
//! itself, run by every call and text, is `destination_guard`.

use time::{Duration, OffsetDateTime};

use super::db::{self, destinations::PauseRow, destinations::RulesRow};
use super::guard::OrgCtx;
use super::{blocked_prefixes, budgets, format, words, AppState};
use crate::error::AppError;
use crate::model::budgets::BudgetPeriod;
use crate::model::countries::{country_name, COUNTRIES};
use crate::model::destinations::{
    BlockedRangeView, Channel, DestKey, DestinationsPage, PauseView, RefusalCount, RulesView,
    DEFAULT_VELOCITY, MAX_VELOCITY,
};
use crate::model::money::{parse_dollars, Money};

/// Common destinations the page offers to copy into the allowed countries (a plain list: it
/// works without JavaScript).
const COMMON: [&str; 20] = [
    "US", "CA", "MX", "BR", "GB", "IE", "FR", "DE", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "PL",
    "PT", "IN", "AU", "NZ",
];

/// The most held texts one resume sends (in a task of its own); a pause holding more keeps the
/// rest held, and resuming it again sends the next ones.
pub const RELEASE_BATCH: i64 = 500;

/// How long a resumed pause stays listed.
const RESUMED_SHOWN: Duration = Duration::days(30);

/// The destinations page: the rules, the blocked list, this month's refusals and the pauses.
pub async fn page(ctx: &OrgCtx) -> Result<DestinationsPage, AppError> {
    let pool = &ctx.state.pool;
    let now = ctx.state.clock.now();
    let start = db::destinations::month_start(pool, ctx.org_id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let refusals = db::destinations::refusals(pool, ctx.org_id, start)
        .await?
        .into_iter()
        .map(|r| RefusalCount {
            label: words::refusal_reason(&r.reason).to_string(),
            reason: r.reason,
            n: r.n,
        })
        .collect();
    Ok(DestinationsPage {
        org: ctx.view(),
        can_manage: ctx.access.can_manage(),
        rules: rules(ctx).await?,
        blocked_count: u32::try_from(blocked_prefixes::blocked_count()).unwrap_or(u32::MAX),
        blocked_sources: words::blocked_sources().to_string(),
        blocked: blocked_list(),
        month: budgets::period_label(BudgetPeriod::Month, start),
        refusals,
        pauses: pauses(ctx).await?,
        common: COMMON.iter().map(|c| (c.to_string(), name_of(c))).collect(),
    })
}

/// The shipped blocked list as the page lists it.
fn blocked_list() -> Vec<BlockedRangeView> {
    blocked_prefixes::ranges()
        .iter()
        .map(|r| BlockedRangeView {
            prefix: format!("+{}", r.prefix),
            kind: words::range_kind(&r.kind).to_string(),
            source: r.source.clone(),
            blocks: r.blocks(),
        })
        .collect()
}

/// The org's destination rules (the defaults when it never saved any).
pub async fn rules(ctx: &OrgCtx) -> Result<RulesView, AppError> {
    let row = db::destinations::rules(&ctx.state.pool, ctx.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(rules_view(row))
}

fn rules_view(r: RulesRow) -> RulesView {
    let allowed = r.allowed_countries.unwrap_or_default();
    let names = allowed.iter().map(String::as_str).map(name_of).collect();
    let shown = |m: Option<i64>| m.map(|m| Money::from_micros(m).to_string());
    RulesView {
        own_country: r.country,
        allowed_names: names,
        allowed_countries: allowed,
        max_sms: shown(r.max_sms_micros),
        max_sms_micros: r.max_sms_micros,
        max_call_minute: shown(r.max_call_minute_micros),
        max_call_minute_micros: r.max_call_minute_micros,
        velocity_per_hour: r.velocity_per_hour.unwrap_or(DEFAULT_VELOCITY),
        updated_at: r.updated_at.map(format::utc_minute),
        updated_rfc3339: r.updated_at.map(format::rfc3339),
    }
}

/// A country's name (a code the table does not know: the code).
fn name_of(code: &str) -> String {
    country_name(code)
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// Rules as typed (the page's form, `/v1`'s body): the other countries calls and texts may go
/// to (ISO codes separated by commas or spaces; empty: the org's own only), the most a text and
/// a call minute may cost in dollars (absent or empty: no maximum), and how many sends to one
/// destination an hour pause it.
#[derive(Debug, Clone, Default)]
pub struct RulesInput {
    pub countries: String,
    pub max_sms: Option<String>,
    pub max_call_minute: Option<String>,
    pub velocity_per_hour: String,
}

/// Saves the org's rules (owners and admins), on the record; bad input names its field and
/// writes nothing. They apply to the next call or text.
pub async fn save_rules(ctx: &OrgCtx, input: RulesInput) -> Result<RulesView, AppError> {
    ctx.must_manage()?;
    let countries = parse_countries("countries", &input.countries)?;
    let max_sms = optional_dollars("max_sms", input.max_sms.as_deref())?;
    let max_call = optional_dollars("max_call_minute", input.max_call_minute.as_deref())?;
    let velocity = parse_velocity("velocity_per_hour", &input.velocity_per_hour)?;
    let now = ctx.state.clock.now();
    let mut tx = ctx.state.pool.begin().await?;
    let new = db::destinations::NewRules {
        org_id: ctx.org_id,
        allowed_countries: &countries,
        max_sms_micros: max_sms,
        max_call_minute_micros: max_call,
        velocity_per_hour: velocity,
        by: ctx.user.id,
        at: now,
    };
    db::destinations::save_rules(&mut tx, &new).await?;
    let details = serde_json::json!({
        "allowed_countries": countries,
        "max_sms_micros": max_sms,
        "max_call_minute_micros": max_call,
        "velocity_per_hour": velocity,
    });
    ctx.audit(&mut *tx, "destination.rules_saved", &ctx.slug, details)
        .await?;
    let row = db::destinations::rules(&mut *tx, ctx.org_id)
        .await?
        .ok_or(AppError::Internal)?;
    tx.commit().await?;
    Ok(rules_view(row))
}

/// ISO 3166 codes as typed, separated by commas, semicolons or white space, in any case: each a
/// country of the list; sorted, each once.
pub fn parse_countries(field: &str, raw: &str) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    let parts = raw
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty());
    for part in parts {
        let code = part.to_ascii_uppercase();
        if !COUNTRIES.iter().any(|(c, _)| *c == code) {
            let typed: String = part.chars().take(12).collect();
            return Err(AppError::validation(
                field,
                format!("“{typed}” is not a country code: use two letters, such as DE or GB."),
            ));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    out.sort();
    Ok(out)
}

/// An amount of dollars typed in `field`, or none (absent or empty).
fn optional_dollars(field: &str, raw: Option<&str>) -> Result<Option<i64>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Ok(Some(parse_dollars(field, s)?.micros())),
    }
}

/// A whole number of sends an hour, 1 to `MAX_VELOCITY` (thousands may be separated by commas).
fn parse_velocity(field: &str, raw: &str) -> Result<i32, AppError> {
    raw.trim()
        .replace(',', "")
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=MAX_VELOCITY).contains(n))
        .ok_or_else(|| {
            AppError::validation(
                field,
                "Enter a whole number of sends an hour, from 1 to 100,000.",
            )
        })
}

/// The org's open pauses, then those resumed in the last 30 days or still holding texts.
pub async fn pauses(ctx: &OrgCtx) -> Result<Vec<PauseView>, AppError> {
    let since = ctx.state.clock.now() - RESUMED_SHOWN;
    db::destinations::pauses(&ctx.state.pool, ctx.org_id, since)
        .await?
        .into_iter()
        .map(pause_view)
        .collect()
}

/// One of the org's pauses; another org's, or none, is not found.
pub async fn pause(ctx: &OrgCtx, id: i64) -> Result<PauseView, AppError> {
    db::destinations::pause(&ctx.state.pool, ctx.org_id, id)
        .await?
        .ok_or(AppError::NotFound)
        .and_then(pause_view)
}

fn pause_view(r: PauseRow) -> Result<PauseView, AppError> {
    let key = DestKey::parse(&r.dest_key).ok_or_else(|| unknown("dest_key", &r.dest_key))?;
    let kind = Channel::parse(&r.kind).ok_or_else(|| unknown("kind", &r.kind))?;
    let at = |t: Option<OffsetDateTime>| (t.map(format::utc_minute), t.map(format::rfc3339));
    let (resumed_at, resumed_rfc3339) = at(r.resumed_at);
    Ok(PauseView {
        id: r.id,
        destination: words::destination_shown(&key),
        key: r.dest_key,
        kind,
        sends: r.sends,
        per_hour: r.per_hour,
        paused_at: format::utc_minute(r.paused_at),
        paused_rfc3339: format::rfc3339(r.paused_at),
        resumed_at,
        resumed_rfc3339,
        resumed_by: r.resumed_by,
        held: r.held,
    })
}

/// A stored value the table's checks should have refused.
fn unknown(what: &str, value: &str) -> AppError {
    tracing::error!(what, value, "destination pause with an unknown value");
    AppError::Internal
}

/// Resumes sends to a paused destination (owners and admins), on the record: its hour starts
/// again now, and the texts it held are sent (`release`). A pause resumed before that still holds
/// texts (a server stopped while sending them) sends them again; one holding none is a conflict.
/// Another org's pause, or none, is not found.
pub async fn resume(ctx: &OrgCtx, pause_id: i64) -> Result<PauseView, AppError> {
    ctx.must_manage()?;
    let pool = &ctx.state.pool;
    let Some(p) = db::destinations::pause(pool, ctx.org_id, pause_id).await? else {
        return Err(AppError::NotFound);
    };
    let now = ctx.state.clock.now();
    let mut tx = pool.begin().await?;
    // Under the destination's lock: a text sent meanwhile is held before the pause closes (and
    // sent below), or counted afresh after it.
    db::destinations::lock_key(&mut tx, ctx.org_id, &p.dest_key).await?;
    let closed =
        db::destinations::resume(&mut tx, (ctx.org_id, pause_id), ctx.user.id, now).await?;
    let p = db::destinations::pause(&mut *tx, ctx.org_id, pause_id)
        .await?
        .ok_or(AppError::Internal)?;
    if !closed && p.held == 0 {
        return Err(words::pause_already_resumed());
    }
    if closed {
        let details = serde_json::json!({ "pause": pause_id, "kind": p.kind, "held": p.held });
        ctx.audit(&mut *tx, "destination.resumed", &p.dest_key, details)
            .await?;
    }
    tx.commit().await?;
    release(ctx.state.clone(), pause_id);
    pause_view(p)
}

/// Sends the texts `pause_id` holds, oldest first and at most `RELEASE_BATCH`, one after another
/// in a task of its own (the resume answers at once; the texts go out in seconds). Each goes
/// through the budgets: one a cap refuses stays held, saying why, as does one the server stops
/// before sending; resuming again sends them.
fn release(state: AppState, pause_id: i64) {
    tokio::spawn(async move {
        let ids = match db::destinations::held_ids(&state.pool, pause_id, RELEASE_BATCH).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(pause = pause_id, error = %e, "the held texts could not be read");
                return;
            }
        };
        for id in ids {
            if let Err(e) = super::sms::send_held(&state, id).await {
                tracing::warn!(pause = pause_id, message = id, error = %e, "a held text was not sent");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_read_in_any_case_and_separator_and_kept_once() {
        assert_eq!(
            parse_countries("countries", " gb, DE;fr\nGB ").unwrap(),
            ["DE", "FR", "GB"]
        );
        assert!(parse_countries("countries", "").unwrap().is_empty());
        let err = parse_countries("countries", "GB, XX").unwrap_err();
        assert_eq!(
            err.field_message("countries").as_deref(),
            Some("“XX” is not a country code: use two letters, such as DE or GB.")
        );
        assert!(parse_countries("countries", "GBR").is_err());
    }

    #[test]
    fn the_velocity_figure_is_a_whole_number_in_range() {
        assert_eq!(parse_velocity("v", " 30 ").unwrap(), 30);
        assert_eq!(parse_velocity("v", "100,000").unwrap(), 100_000);
        for bad in ["0", "-1", "100001", "2.5", "", "thirty"] {
            assert!(parse_velocity("v", bad).is_err(), "{bad}");
        }
        assert_eq!(optional_dollars("m", Some(" ")).unwrap(), None);
        assert_eq!(optional_dollars("m", Some("0.05")).unwrap(), Some(50_000));
        assert!(optional_dollars("m", Some("-1")).is_err());
    }
}
