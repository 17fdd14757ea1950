//! Bulk lookups: a CSV becomes a job of rows in Postgres (at most a few open per org); a worker in
//! every server process (`bulk_worker`) claims open jobs round-robin by org (`FOR UPDATE SKIP
//! LOCKED`, a heartbeat so a job of a stopped server is taken over) and looks each distinct number
//! up once, a few at a time.

use std::time::Duration;

use sqlx::PgPool;

use super::db::bulk_lookups as jobs;
pub use super::db::bulk_lookups::QueueStats;

/// How many bulk jobs wait and run, and the oldest wait (for the metrics).
pub async fn queue_stats(pool: &PgPool) -> Result<QueueStats, sqlx::Error> {
    jobs::queue_stats(pool).await
}
use crate::error::AppError;
use crate::model::lookup::{MAX_BULK_BYTES, MAX_BULK_ROWS};

/// Bulk jobs one org may have queued or running at once (the queue is shared by every org).
pub const MAX_OPEN_JOBS_PER_ORG: i64 = 3;
/// How bulk-job workers prove they are alive, and when a silent one's job is taken over.
#[derive(Debug, Clone, Copy)]
pub struct JobTiming {
    /// A worker beats this often, on a timer of its own (however slow the provider is and
    /// however big a chunk).
    pub heartbeat: Duration,
    /// A running job whose heartbeat is older than this is taken over by another worker.
    pub stale_after: Duration,
}

impl Default for JobTiming {
    fn default() -> Self {
        JobTiming {
            heartbeat: Duration::from_secs(5),
            stale_after: Duration::from_secs(30),
        }
    }
}

/// One input line: what was written, and its E.164 form or why it has none.
pub struct ParsedRow {
    pub input: String,
    pub e164: Result<String, String>,
}

/// Reads the uploaded CSV: the first column of every row; a first row that is not a number is
/// taken as a header. Blank lines are skipped.
pub fn parse_csv(bytes: &[u8], region: &str) -> Result<Vec<ParsedRow>, AppError> {
    let field = "file";
    if bytes.is_empty() {
        return Err(AppError::validation(field, "Choose a CSV file to upload."));
    }
    if bytes.len() > MAX_BULK_BYTES {
        return Err(AppError::validation(
            field,
            "The file is larger than 1 MB. Split it into smaller files.",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        AppError::validation(field, "The file is not UTF-8 text. Save it as CSV (UTF-8).")
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            AppError::validation(
                field,
                format!("The file is not valid CSV near line {}: {e}", i + 1),
            )
        })?;
        let input = rec.get(0).unwrap_or("").trim().to_string();
        if input.is_empty() && rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let e164 = telephony::E164::parse(&input, Some(region))
            .map(|n| n.as_str().to_string())
            .map_err(|e| e.to_string());
        if rows.is_empty() && e164.is_err() && !input.chars().any(|c| c.is_ascii_digit()) {
            // A header such as "phone" or "number".
            continue;
        }
        rows.push(ParsedRow { input, e164 });
        if rows.len() > MAX_BULK_ROWS {
            return Err(AppError::validation(
                field,
                format!(
                    "The file has more than {MAX_BULK_ROWS} rows. Split it into smaller files."
                ),
            ));
        }
    }
    if rows.is_empty() {
        return Err(AppError::validation(
            field,
            "The file has no phone numbers in it.",
        ));
    }
    Ok(rows)
}

/// Queues a job for the org. An org has at most `MAX_OPEN_JOBS_PER_ORG` jobs queued or running:
/// beyond that the upload is refused next to the file field (422) and nothing is written. The
/// count and the insert are one step under the org's queue lock, so parallel uploads cannot pass
/// it either.
pub async fn create_job(
    pool: &PgPool,
    org_id: i64,
    user_id: i64,
    filename: &str,
    rows: &[ParsedRow],
) -> Result<i64, AppError> {
    let rows: Vec<jobs::NewRow> = rows
        .iter()
        .map(|r| jobs::NewRow {
            input: &r.input,
            e164: r.e164.as_deref().map_err(String::as_str),
        })
        .collect();
    let mut tx = pool.begin().await?;
    jobs::lock_org_queue(&mut tx, org_id).await?;
    let open = jobs::open_for_org(&mut *tx, org_id).await?;
    if open >= MAX_OPEN_JOBS_PER_ORG {
        return Err(AppError::validation(
            "file",
            format!(
                "This org already has {open} bulk lookups queued or running (at most {MAX_OPEN_JOBS_PER_ORG} at a time). Upload this file when one of them has finished."
            ),
        ));
    }
    let id = jobs::create(&mut tx, org_id, user_id, filename, &rows).await?;
    tx.commit().await?;
    Ok(id)
}

/// The results of a job as CSV: one row per input line with its answer or its error.
pub async fn results_csv(
    pool: &PgPool,
    org_id: i64,
    job_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    if !jobs::belongs_to(pool, job_id, org_id).await? {
        return Ok(None);
    }
    // The shared cache may hold a caller name another org paid for: shown only when this org's
    // configuration has caller names on.
    let caller_names = super::db::phone_config::effective(pool, org_id)
        .await?
        .is_some_and(|c| c.caller_name_enabled);
    let rows = jobs::results(pool, job_id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "row",
        "input",
        "e164",
        "status",
        "outcome",
        "national_format",
        "country",
        "line_type",
        "carrier",
        "is_mobile",
        "is_voip",
        "caller_name",
        "error",
    ];
    let _ = w.write_record(header);
    let b = |v: Option<bool>| v.map(|b| b.to_string()).unwrap_or_default();
    for r in rows {
        // Every column: the provider's answers are untrusted text too.
        let cells = [
            r.row_no.to_string(),
            r.input,
            r.e164.unwrap_or_default(),
            r.status,
            r.outcome.unwrap_or_default(),
            r.national_format.unwrap_or_default(),
            r.country_code.unwrap_or_default(),
            r.line_type.unwrap_or_default(),
            r.carrier_name.unwrap_or_default(),
            b(r.is_mobile),
            b(r.is_voip),
            r.caller_name.filter(|_| caller_names).unwrap_or_default(),
            r.error.unwrap_or_default(),
        ];
        let _ = w.write_record(cells.iter().map(|c| csv_safe(c)));
    }
    Ok(Some(
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default(),
    ))
}

/// Cells a spreadsheet would run as a formula get a leading apostrophe.
pub fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !looks_like_number(s) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Only a plain E.164 number (`+` and digits) is left alone: `-1-2` or `+1+cmd` would run.
fn looks_like_number(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_headers_and_limits() {
        let rows = parse_csv(
            b"phone,name\n+1 415 555 0100,Ann\n\n(415) 555-0101\nnope 1\n",
            "US",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].e164.as_deref(), Ok("+14155550100"));
        assert_eq!(rows[1].e164.as_deref(), Ok("+14155550101"));
        assert!(rows[2].e164.is_err());
        assert_eq!(rows[2].input, "nope 1");
        assert!(parse_csv(b"", "US").is_err());
        assert!(parse_csv(b"phone\n\n", "US").is_err());
        assert!(parse_csv(&[0xff, 0xfe, 0x00], "US").is_err());
        let big: String = (0..=MAX_BULK_ROWS)
            .map(|i| format!("+1415555{:04}\n", i % 10000))
            .collect();
        let err = parse_csv(big.as_bytes(), "US").err().unwrap();
        assert!(err.to_string().contains("more than 10000 rows"), "{err}");
        let ok: String = (0..MAX_BULK_ROWS)
            .map(|i| format!("+1415555{:04}\n", i % 10000))
            .collect();
        assert_eq!(parse_csv(ok.as_bytes(), "US").unwrap().len(), MAX_BULK_ROWS);
    }

    #[test]
    fn formulas_are_neutralised_but_numbers_are_not() {
        assert_eq!(csv_safe("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_safe("+14155550100"), "+14155550100");
        assert_eq!(csv_safe("@sum"), "'@sum");
        assert_eq!(csv_safe("Acme"), "Acme");
        assert_eq!(csv_safe("-1-2"), "'-1-2");
        assert_eq!(csv_safe("+1+2"), "'+1+2");
        assert_eq!(csv_safe("-2+3 (cmd)"), "'-2+3 (cmd)");
        assert_eq!(csv_safe("\t=1"), "'\t=1");
    }
}
