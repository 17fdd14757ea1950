//! Usage Records: what the sandbox billed (its ledger, `Data::usage`), summed per category over a
//! range of days, as Twilio reports it for reconciling statements.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::rest::{field, page_json_keeping, ymd, ApiError};
use super::{Sandbox, Shared};

/// Twilio's words for the categories the sandbox bills: (category, description, count_unit,
/// usage_unit).
const CATEGORIES: [(&str, &str, &str, &str); 6] = [
    ("calls", "Voice Minutes", "calls", "minutes"),
    ("lookups", "Lookups", "lookups", "lookups"),
    ("phonenumbers", "Phone Numbers", "numbers", "numbers"),
    (
        "recordings",
        "Voice Minutes - Recordings",
        "recordings",
        "minutes",
    ),
    ("sms", "SMS", "messages", "segments"),
    ("totalprice", "Total Price", "", "usd"),
];

/// The category that sums the prices of all the others.
const TOTAL: &str = "totalprice";

/// Which days a list covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// `StartDate` (none: from the first day billed) to `EndDate` (none: today), inclusive.
    Given,
    /// The previous calendar month (UTC).
    LastMonth,
    /// The current calendar month (UTC), up to today.
    ThisMonth,
}

impl Span {
    /// The list's path under the account, and its operation (for the request counts).
    fn path_and_operation(self) -> (&'static str, &'static str) {
        match self {
            Span::Given => ("/Usage/Records.json", "ListUsageRecord"),
            Span::LastMonth => ("/Usage/Records/LastMonth.json", "ListUsageRecordLastMonth"),
            Span::ThisMonth => ("/Usage/Records/ThisMonth.json", "ListUsageRecordThisMonth"),
        }
    }

    /// The query parameters the list honours, carried into its page URIs.
    fn filters(self) -> &'static [&'static str] {
        match self {
            Span::Given => &["Category", "StartDate", "EndDate"],
            Span::LastMonth | Span::ThisMonth => &["Category"],
        }
    }
}

/// A day given as `YYYY-MM-DD` (Twilio's format for `StartDate` and `EndDate`).
fn parse_day(s: &str) -> Option<time::Date> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|c| c.is_ascii_digit());
    if parts.next().is_some() || !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// The date in query parameter `name`, if given; Twilio's 400 (20001) when it is not a date.
fn date_param(q: &[(String, String)], name: &str) -> Result<Option<time::Date>, ApiError> {
    match field(q, name) {
        None => Ok(None),
        Some(v) => parse_day(&v).map(Some).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                20001,
                format!("{name} must be a date formatted as YYYY-MM-DD: {v}"),
            )
        }),
    }
}

/// The first and last day (inclusive) a list covers, on `today`; no first day: from the start.
fn days(
    span: Span,
    q: &[(String, String)],
    today: time::Date,
) -> Result<(Option<time::Date>, time::Date), ApiError> {
    let first_of = |d: time::Date| d.replace_day(1).unwrap_or(d);
    Ok(match span {
        Span::Given => (
            date_param(q, "StartDate")?,
            date_param(q, "EndDate")?.unwrap_or(today),
        ),
        Span::ThisMonth => (Some(first_of(today)), today),
        Span::LastMonth => {
            let this_month = first_of(today);
            let end = this_month.previous_day().unwrap_or(this_month);
            (Some(first_of(end)), end)
        }
    })
}

/// Micro-dollars as a decimal with six places ("1.008500").
fn dollars(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

/// Micro-dollars as a JSON number of dollars, read from its exact decimal text (no float
/// arithmetic on the way).
fn price_number(micros: i64) -> Value {
    dollars(micros)
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The sums of one category over the days listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sum {
    count: u64,
    usage: u64,
    price_micros: i64,
}

/// One usage record, in the shape of Twilio's `api.v2010.account.usage.usage_record`.
fn record_json(
    sb: &Sandbox,
    path: &str,
    category: &str,
    sum: Sum,
    (start, end): (&str, &str),
    as_of: &str,
) -> Value {
    let (description, count_unit, usage_unit) = CATEGORIES
        .iter()
        .find(|(c, ..)| *c == category)
        .map_or((category, "", ""), |(_, d, c, u)| (*d, *c, *u));
    // Twilio's total counts nothing and measures its usage in dollars.
    let usage = if category == TOTAL {
        dollars(sum.price_micros)
    } else {
        sum.usage.to_string()
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("Category", category)
        .append_pair("StartDate", start)
        .append_pair("EndDate", end)
        .finish();
    json!({
        "account_sid": sb.cfg.account_sid, "api_version": "2010-04-01", "as_of": as_of,
        "category": category, "count": sum.count.to_string(), "count_unit": count_unit,
        "description": description, "end_date": end, "start_date": start,
        "price": price_number(sum.price_micros), "price_unit": "usd", "usage": usage,
        "usage_unit": usage_unit, "uri": sb.account_uri(&format!("{path}?{query}")),
        "subresource_uris": {},
    })
}

/// One list of usage records: a record per category billed in the days covered, sorted by
/// category, and the total price of them all; `Category` keeps only that category.
fn records(sb: &Sandbox, span: Span, q: &[(String, String)]) -> Response {
    let (path, operation) = span.path_and_operation();
    sb.count(operation);
    let now = time::OffsetDateTime::now_utc();
    let (first, last) = match days(span, q, now.date()) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let (first, last) = (first.map(ymd), ymd(last));
    let in_range = |day: &str| first.as_deref().is_none_or(|f| day >= f) && day <= last.as_str();
    let mut sums: BTreeMap<String, Sum> = BTreeMap::new();
    let mut total = Sum::default();
    let mut first_billed: Option<String> = None;
    let mut d = sb.lock();
    // Held numbers renew monthly: their months up to now are billed before anything is summed.
    if d.renew_numbers(&ymd(now.date())[..7]) {
        sb.save(&d);
    }
    for item in d.usage.iter().filter(|i| in_range(&i.date)) {
        let sum = sums.entry(item.category.clone()).or_default();
        sum.count += item.count;
        sum.usage += item.usage;
        sum.price_micros += item.price_micros;
        total.price_micros += item.price_micros;
        if first_billed.as_ref().is_none_or(|f| item.date < *f) {
            first_billed = Some(item.date.clone());
        }
    }
    drop(d);
    sums.insert(TOTAL.to_string(), total);
    let start = first.or(first_billed).unwrap_or_else(|| last.clone());
    let as_of = format!(
        "{}T{:02}:{:02}:{:02}+00:00",
        ymd(now.date()),
        now.hour(),
        now.minute(),
        now.second()
    );
    let wanted = field(q, "Category");
    let items: Vec<Value> = sums
        .into_iter()
        .filter(|(category, _)| wanted.as_deref().is_none_or(|w| w == category))
        .map(|(category, sum)| record_json(sb, path, &category, sum, (&start, &last), &as_of))
        .collect();
    Json(page_json_keeping(
        sb,
        "usage_records",
        path,
        items,
        q,
        span.filters(),
    ))
    .into_response()
}

/// `GET …/Usage/Records.json`: `StartDate` to `EndDate`.
pub(super) async fn list_records(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    records(&sb, Span::Given, &q)
}

/// `GET …/Usage/Records/LastMonth.json`: the previous calendar month.
pub(super) async fn last_month(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    records(&sb, Span::LastMonth, &q)
}

/// `GET …/Usage/Records/ThisMonth.json`: the current calendar month, up to today.
pub(super) async fn this_month(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    records(&sb, Span::ThisMonth, &q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Messaging, NewMessage, Numbers, Usage};
    use crate::sandbox::{self, SandboxConfig};
    use crate::twilio::{TwilioClient, TwilioConfig};

    fn date(y: i32, m: u8, d: u8) -> time::Date {
        time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
    }

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        super::super::rest::pairs(pairs)
    }

    #[test]
    fn days_are_parsed_strictly() {
        assert_eq!(parse_day("2024-02-29"), Some(date(2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-01-01",
            "2024/01/01",
            "-30days",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_months_are_calendar_months() {
        let today = date(2024, 3, 15);
        assert_eq!(
            days(Span::ThisMonth, &[], today).ok(),
            Some((Some(date(2024, 3, 1)), today))
        );
        assert_eq!(
            days(Span::LastMonth, &[], today).ok(),
            Some((Some(date(2024, 2, 1)), date(2024, 2, 29)))
        );
        assert_eq!(
            days(Span::LastMonth, &[], date(2024, 1, 1)).ok(),
            Some((Some(date(2023, 12, 1)), date(2023, 12, 31)))
        );
        // The months ignore the dates asked for; the plain list defaults to all days until today.
        let asked = query(&[("StartDate", "2020-01-01"), ("EndDate", "2020-01-31")]);
        assert_eq!(
            days(Span::ThisMonth, &asked, today).ok(),
            Some((Some(date(2024, 3, 1)), today))
        );
        assert_eq!(
            days(Span::Given, &asked, today).ok(),
            Some((Some(date(2020, 1, 1)), date(2020, 1, 31)))
        );
        assert_eq!(days(Span::Given, &[], today).ok(), Some((None, today)));
        assert!(days(Span::Given, &query(&[("EndDate", "yesterday")]), today).is_err());
    }

    #[test]
    fn prices_are_exact_dollar_numbers() {
        assert_eq!(dollars(1_008_500), "1.008500");
        assert_eq!(dollars(7_900), "0.007900");
        assert_eq!(price_number(1_008_500).to_string(), "1.0085");
        assert_eq!(price_number(0), json!(0.0));
    }

    fn today() -> time::Date {
        time::OffsetDateTime::now_utc().date()
    }

    #[tokio::test]
    async fn usage_records_report_what_was_billed_today() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/sandbox/twilio", listener.local_addr().unwrap());
        let mut cfg = SandboxConfig::dev(&base, None);
        cfg.manual_clock = true;
        let sb = sandbox::Sandbox::start(cfg);
        let app = axum::Router::new().nest("/sandbox/twilio", sandbox::router(sb.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut cc = TwilioConfig::new(sandbox::DEV_ACCOUNT_SID, sandbox::DEV_AUTH_TOKEN);
        cc.allow_private_networks = true; // the sandbox listens on loopback
        cc.api_base = format!("{base}/api");
        cc.lookups_base = format!("{base}/lookups");
        cc.max_retries = 0;
        let c = TwilioClient::new(cc).unwrap();

        // Bounded by the days before and after billing: the test may run across midnight.
        let first = today();
        let bought = c
            .buy_number("+14155550123", &Default::default())
            .await
            .unwrap();
        c.send_message(&NewMessage {
            to: "+14155550111".into(),
            from: bought.phone_number,
            body: "billed once sent".into(),
            status_callback: None,
        })
        .await
        .unwrap();
        // The message is priced when it is sent, half a simulated second after it was queued.
        assert!(sb.advance(1.0));
        let mut sent = false;
        for _ in 0..400 {
            sent = sb.lock().messages.iter().all(|m| m.price_micros.is_some());
            if sent {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(sent, "the message was sent");
        let records = c.usage_records(first, today()).await.unwrap();
        let find = |c: &str| records.iter().find(|r| r.category == c).cloned();
        let numbers = find("phonenumbers").expect("the number is billed");
        assert_eq!((numbers.count, numbers.usage), (1, 1));
        assert_eq!(numbers.price_micros, sandbox::NUMBER_MONTHLY_MICROS);
        let sms = find("sms").expect("the message is billed");
        assert_eq!((sms.count, sms.usage, sms.price_micros), (1, 1, 7_900));
        let total = find("totalprice").expect("the total");
        assert_eq!(total.count, 0);
        assert_eq!(total.price_micros, 1_007_900);
        let categories: Vec<&str> = records.iter().map(|r| r.category.as_str()).collect();
        assert_eq!(categories, ["phonenumbers", "sms", "totalprice"]);

        // A day before anything was billed lists only a zero total; a bad date is Twilio's 400.
        let before = today().previous_day().unwrap();
        let earlier = c.usage_records(before, before).await.unwrap();
        assert_eq!(earlier.len(), 1);
        assert_eq!(earlier[0].price_micros, 0);
        let bad = reqwest::Client::new()
            .get(format!(
                "{base}/api/2010-04-01/Accounts/{}/Usage/Records.json?StartDate=2024-02-30",
                sandbox::DEV_ACCOUNT_SID
            ))
            .basic_auth(sandbox::DEV_ACCOUNT_SID, Some(sandbox::DEV_AUTH_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let body: Value = bad.json().await.unwrap();
        assert_eq!(body["code"], 20001);
        assert!(body["message"].as_str().unwrap().contains("StartDate"));
        assert_eq!(sb.stats()["ListUsageRecord"], 3);
    }
}
