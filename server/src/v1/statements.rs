//! Monthly statements: the list and one whole statement, as the statements pages show them (keys
//! acting as an owner or admin, and support, read every one of the org's; a member's key their
//! own).

use app::model::api_keys::Scope;
use app::model::statements as model;
use axum::extract::Path;
use axum::response::Response;
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::{json, ApiMoney, Caller, Problem};

/// A statement in the list.
#[derive(Serialize, ToSchema)]
pub struct StatementSummary {
    id: i64,
    /// The month's first day, YYYY-MM-DD (a month of the org's time zone).
    #[schema(format = Date)]
    month: String,
    /// The member's e-mail; null: the whole org's statement.
    member: Option<String>,
    /// The month's usage plus the adjustments.
    total: ApiMoney,
    /// Changes, carried by this statement, to items of earlier months.
    adjustments: ApiMoney,
    /// The comparison with Twilio's usage records (orgs' statements on their own Twilio account):
    /// `pending`, `matches`, `differs` or `failed`; null: not compared.
    #[schema(example = "matches")]
    check: Option<String>,
}

impl From<model::StatementSummary> for StatementSummary {
    fn from(s: model::StatementSummary) -> StatementSummary {
        StatementSummary {
            id: s.id,
            month: s.month,
            member: s.member,
            total: ApiMoney::micros(s.total_micros),
            adjustments: ApiMoney::micros(s.adjustments_micros),
            check: s.check,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatementList {
    /// Newest month first.
    data: Vec<StatementSummary>,
}

/// One category of a statement.
#[derive(Serialize, ToSchema)]
pub struct StatementLine {
    /// `numbers`, `calls`, `recordings`, `sms` or `lookups`.
    #[schema(example = "calls")]
    category: String,
    /// Items billed in the month.
    item_count: i64,
    /// Usage in `unit`.
    usage: i64,
    /// `number-months`, `minutes`, `segments` or `lookups`.
    #[schema(value_type = String, example = "minutes")]
    unit: &'static str,
    /// What the month's items cost.
    amount: ApiMoney,
    /// How many items of earlier months changed.
    adjustment_count: i64,
    /// What they changed by.
    adjustments: ApiMoney,
    /// amount + adjustments.
    total: ApiMoney,
    /// Lookups only (else 0): those answered from the cache in the month.
    cache_hits: i64,
    /// Lookups only (else 0): what the cached answers would have cost.
    saved: ApiMoney,
}

/// An item of an earlier month whose price arrived or changed after its statement closed.
#[derive(Serialize, ToSchema)]
pub struct StatementAdjustment {
    /// `numbers`, `calls`, `recordings`, `sms` or `lookups`.
    category: String,
    /// The item, in words (e.g. `Call CA…`).
    item: String,
    /// When the item happened, RFC 3339.
    #[schema(format = DateTime)]
    item_at: String,
    /// What earlier statements said it cost.
    was: ApiMoney,
    /// What it costs now.
    now: ApiMoney,
    /// now − was.
    difference: ApiMoney,
}

/// One category of the comparison with Twilio.
#[derive(Serialize, ToSchema)]
pub struct StatementCheckLine {
    /// `numbers`, `calls`, `recordings`, `sms`, `lookups` or `total`.
    category: String,
    /// The month's usage on this statement (without adjustments, which are not in Twilio's
    /// figures for the month).
    phonehub: ApiMoney,
    /// What Twilio's usage records say for the month (GMT days).
    twilio: ApiMoney,
    /// twilio − phonehub.
    difference: ApiMoney,
}

/// The statement beside Twilio's usage records for the month.
#[derive(Serialize, ToSchema)]
pub struct StatementCheck {
    /// `pending` (not read yet), `matches`, `differs` or `failed`.
    #[schema(example = "matches")]
    state: String,
    /// When Twilio's records were read, RFC 3339; null until they are.
    #[schema(format = DateTime)]
    checked_at: Option<String>,
    /// Why reading them failed (`failed` only).
    error: Option<String>,
    /// Empty unless `matches` or `differs`.
    lines: Vec<StatementCheckLine>,
}

/// A whole statement: a closed month of the org (or one member), never changed.
#[derive(Serialize, ToSchema)]
pub struct Statement {
    id: i64,
    /// The month's first day, YYYY-MM-DD.
    #[schema(format = Date)]
    month: String,
    /// The member's e-mail; null: the whole org's statement.
    member: Option<String>,
    /// The org's time zone when the month closed (IANA name).
    #[schema(example = "America/New_York")]
    time_zone: String,
    /// The month's start, RFC 3339 (inclusive).
    #[schema(format = DateTime)]
    period_start: String,
    /// The month's end, RFC 3339 (exclusive).
    #[schema(format = DateTime)]
    period_end: String,
    /// When the statement was closed, RFC 3339.
    #[schema(format = DateTime)]
    closed_at: String,
    /// The month's usage, without adjustments.
    usage: ApiMoney,
    adjustments: ApiMoney,
    /// usage + adjustments.
    total: ApiMoney,
    /// One per category.
    lines: Vec<StatementLine>,
    /// Every adjustment, oldest item first.
    adjustment_items: Vec<StatementAdjustment>,
    /// Null: not compared (a member's statement, or an org not on its own Twilio account).
    check: Option<StatementCheck>,
}

impl From<model::Statement> for Statement {
    fn from(s: model::Statement) -> Statement {
        let usage = s.usage_micros();
        let adjustments = s.adjustments_micros();
        let total = s.total_micros();
        Statement {
            id: s.id,
            month: s.month,
            member: s.member,
            time_zone: s.time_zone,
            period_start: s.period_start,
            period_end: s.period_end,
            closed_at: s.closed_at,
            usage: ApiMoney::micros(usage),
            adjustments: ApiMoney::micros(adjustments),
            total: ApiMoney::micros(total),
            lines: s
                .lines
                .into_iter()
                .map(|l| StatementLine {
                    unit: model::usage_unit(&l.category),
                    item_count: l.item_count,
                    usage: l.usage,
                    amount: ApiMoney::micros(l.micros),
                    adjustment_count: l.adjustment_count,
                    adjustments: ApiMoney::micros(l.adjustment_micros),
                    total: ApiMoney::micros(l.total_micros()),
                    cache_hits: l.cache_hits,
                    saved: ApiMoney::micros(l.saved_micros),
                    category: l.category,
                })
                .collect(),
            adjustment_items: s
                .adjustments
                .into_iter()
                .map(|a| StatementAdjustment {
                    was: ApiMoney::micros(a.was_micros),
                    now: ApiMoney::micros(a.micros),
                    difference: ApiMoney::micros(a.delta_micros()),
                    category: a.category,
                    item: a.item,
                    item_at: a.item_at,
                })
                .collect(),
            check: s.check.map(|c| StatementCheck {
                state: c.state,
                checked_at: c.checked_at,
                error: c.error,
                lines: c
                    .lines
                    .into_iter()
                    .map(|l| StatementCheckLine {
                        phonehub: ApiMoney::micros(l.ours_micros),
                        twilio: ApiMoney::micros(l.provider_micros),
                        difference: ApiMoney::micros(l.difference_micros()),
                        category: l.category,
                    })
                    .collect(),
            }),
        }
    }
}

/// The statements the key's member sees, newest month first: the org's and every member's for a
/// key acting as an owner or admin, else the member's own.
#[utoipa::path(
    get, path = "/v1/statements", tag = "Statements", operation_id = "listStatements",
    responses(
        (status = 200, body = StatementList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::UsageRead)?;
    let data = app::ssr::statements::list(&c.ctx)
        .await?
        .into_iter()
        .map(StatementSummary::from)
        .collect();
    Ok(json(StatusCode::OK, &StatementList { data }))
}

/// One whole statement, with every adjustment and the comparison with Twilio.
#[utoipa::path(
    get, path = "/v1/statements/{id}", tag = "Statements", operation_id = "getStatement",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Statement),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::UsageRead)?;
    let id = super::path_id(&id)?;
    let s = app::ssr::statements::get(&c.ctx, id, i64::MAX).await?;
    Ok(json(StatusCode::OK, &Statement::from(s)))
}
