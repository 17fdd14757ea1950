//! Call recordings: made when a recorded call ends, listed as JSON, served as (ranged) WAV, and
//! deleted.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::audio;
use super::rest::{field, new_sid, not_found, now, page_json, price, strip_json, twilio_error};
use super::state::{CallRec, RecordingRec};
use super::{Sandbox, Shared};

/// Saves (and bills) the recording of a finished call and sends its recording status callback.
pub(super) async fn record(sb: &Shared, c: &CallRec) {
    let duration = c.talk_seconds;
    let minutes = duration.div_ceil(60);
    let rec = RecordingRec {
        sid: new_sid("RE"),
        call_sid: c.sid.clone(),
        duration,
        price_micros: i64::from(minutes) * 2_500,
        date_created: now(),
    };
    {
        let mut d = sb.lock();
        d.recordings.push(rec.clone());
        d.bill("recordings", 1, u64::from(minutes), rec.price_micros);
        sb.save(&d);
    }
    if let Some(url) = &c.recording_status_callback {
        let media = format!(
            "{}/api{}",
            sb.cfg.public_base,
            sb.account_uri(&format!("/Recordings/{}", rec.sid))
        );
        let params: Vec<(String, String)> = [
            ("AccountSid", sb.cfg.account_sid.clone()),
            ("CallSid", c.sid.clone()),
            ("RecordingSid", rec.sid.clone()),
            ("RecordingUrl", media),
            ("RecordingStatus", "completed".into()),
            ("RecordingDuration", duration.to_string()),
            ("RecordingChannels", "1".into()),
            ("RecordingSource", "OutboundAPI".into()),
            (
                "RecordingStartTime",
                c.start_time.clone().unwrap_or_default(),
            ),
            ("ErrorCode", "0".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        sb.callback(url, params).await;
    }
}

fn recording_json(sb: &Sandbox, r: &RecordingRec) -> Value {
    json!({
        "account_sid": sb.cfg.account_sid, "api_version": "2010-04-01", "call_sid": r.call_sid,
        "conference_sid": null, "date_created": r.date_created, "date_updated": r.date_created,
        "start_time": r.date_created, "duration": r.duration.to_string(), "sid": r.sid,
        "price": price(r.price_micros), "price_unit": "USD", "status": "completed", "channels": 1,
        "source": "OutboundAPI", "error_code": null,
        "uri": sb.account_uri(&format!("/Recordings/{}.json", r.sid)),
        "encryption_details": null, "subresource_uris": {},
        "media_url": format!("{}/api{}", sb.cfg.public_base, sb.account_uri(&format!("/Recordings/{}", r.sid))),
    })
}

pub(super) async fn list_recordings(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListRecording");
    let filter = field(&q, "CallSid");
    let recs: Vec<RecordingRec> = sb
        .lock()
        .recordings
        .iter()
        .rev()
        .filter(|r| filter.as_deref().is_none_or(|c| r.call_sid == c))
        .cloned()
        .collect();
    let items = recs.iter().map(|r| recording_json(&sb, r)).collect();
    Json(page_json(&sb, "recordings", "/Recordings.json", items, &q)).into_response()
}

pub(super) async fn list_call_recordings(
    State(sb): State<Shared>,
    Path((_, call)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    sb.count("ListCallRecording");
    let recs: Vec<RecordingRec> = sb
        .lock()
        .recordings
        .iter()
        .filter(|r| r.call_sid == call)
        .cloned()
        .collect();
    let items = recs.iter().map(|r| recording_json(&sb, r)).collect();
    Json(page_json(
        &sb,
        "recordings",
        &format!("/Calls/{call}/Recordings.json"),
        items,
        &q,
    ))
    .into_response()
}

/// `Range: bytes=a-` or `a-b` within a body of `len` bytes, as inclusive offsets.
fn byte_range(headers: &HeaderMap, len: usize) -> Option<(usize, usize)> {
    let (a, b) = headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?
        .split_once('-')?;
    let start: usize = a.parse().ok()?;
    let end = if b.is_empty() {
        len.checked_sub(1)?
    } else {
        b.parse::<usize>().ok()?.min(len.checked_sub(1)?)
    };
    (start <= end).then_some((start, end))
}

/// The recording's audio, or the asked-for part of it, as the media host Twilio serves
/// recordings from does.
fn media(sb: &Sandbox, rec: &RecordingRec, headers: &HeaderMap) -> Response {
    sb.count("FetchRecordingMedia");
    let wav = audio::wav(rec.duration);
    let built = match byte_range(headers, wav.len()) {
        Some((start, end)) => {
            sb.count("FetchRecordingMediaRange");
            Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_TYPE, "audio/x-wav")
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{end}/{}", wav.len()),
                )
                .body(Body::from(wav[start..=end].to_vec()))
        }
        None => Response::builder()
            .header(header::CONTENT_TYPE, "audio/x-wav")
            .body(Body::from(wav)),
    };
    built.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

pub(super) async fn fetch_recording(
    State(sb): State<Shared>,
    Path((_, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (sid, ext) = file.rsplit_once('.').unwrap_or((file.as_str(), ""));
    let rec = sb.lock().recordings.iter().find(|r| r.sid == sid).cloned();
    let Some(rec) = rec else {
        sb.count("FetchRecording");
        return not_found();
    };
    match ext {
        "json" => {
            sb.count("FetchRecording");
            Json(recording_json(&sb, &rec)).into_response()
        }
        "wav" | "" => media(&sb, &rec, &headers),
        _ => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The sandbox serves recordings as .wav",
        ),
    }
}

/// `DELETE …/Recordings/{Sid}.json`: the recording (its resource and its audio) is gone; 204 with
/// no body, or Twilio's 404 (20404) when there is no such recording (any more). What it was billed
/// stays in the ledger, as on Twilio.
pub(super) async fn delete_recording(
    State(sb): State<Shared>,
    Path((_, file)): Path<(String, String)>,
) -> Response {
    sb.count("DeleteRecording");
    let Some(sid) = strip_json(&file) else {
        return not_found();
    };
    let deleted = {
        let mut d = sb.lock();
        let before = d.recordings.len();
        d.recordings.retain(|r| r.sid != sid);
        let deleted = d.recordings.len() < before;
        if deleted {
            sb.save(&d);
        }
        deleted
    };
    if deleted {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, v.parse().unwrap());
        h
    }

    #[test]
    fn byte_ranges_are_clamped_to_the_body_and_bad_ones_ignored() {
        assert_eq!(byte_range(&HeaderMap::new(), 100), None);
        assert_eq!(byte_range(&range("bytes=10-"), 100), Some((10, 99)));
        assert_eq!(byte_range(&range("bytes=10-19"), 100), Some((10, 19)));
        assert_eq!(byte_range(&range("bytes=90-500"), 100), Some((90, 99)));
        assert_eq!(byte_range(&range("bytes=50-40"), 100), None);
        assert_eq!(byte_range(&range("bytes=-10"), 100), None);
        assert_eq!(byte_range(&range("items=0-1"), 100), None);
        assert_eq!(byte_range(&range("bytes=0-"), 0), None);
    }
}
