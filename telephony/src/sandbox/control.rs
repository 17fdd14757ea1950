//! The control endpoints `_stats`, `_calls` and `_faults`: request counts, the calls as created,
//! and faults injected at run time.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::Shared;

/// Injected faults, changeable at run time through `POST …/_faults`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every API request.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of API requests answered with a 500 (0.0–1.0).
    #[serde(default)]
    pub error_rate: f64,
    /// Share of API requests that hang for 30 s (clients time out).
    #[serde(default)]
    pub timeout_rate: f64,
}

impl super::Sandbox {
    /// Plays the injected faults for one request: the added latency, a hang (counted) or an
    /// error (counted). True when the request is to be answered with a 500 in its API's shape.
    pub(super) async fn injected_error(&self) -> bool {
        let f = *self.faults.read().unwrap_or_else(|p| p.into_inner());
        if f.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(f.latency_ms.min(30_000))).await;
        }
        let roll: f64 = rand::random();
        if roll < f.timeout_rate {
            self.count("faults_timeout");
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            false
        } else if roll < f.timeout_rate + f.error_rate {
            self.count("faults_error");
            true
        } else {
            false
        }
    }
}

pub(super) async fn stats(State(sb): State<Shared>) -> Json<BTreeMap<String, u64>> {
    Json(sb.stats())
}

/// What each call was created with, as tests check it (not part of Twilio's API).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallSeen {
    pub sid: String,
    pub from: String,
    pub to: String,
    pub time_limit: Option<u32>,
    pub talk_seconds: u32,
    /// What its TwiML played to the other party before connecting them (see
    /// [`super::state::CallRec::heard`]).
    #[serde(default)]
    pub heard: Vec<String>,
}

pub(super) async fn calls(State(sb): State<Shared>) -> Json<Vec<CallSeen>> {
    let d = sb.lock();
    Json(
        d.calls
            .iter()
            .map(|c| CallSeen {
                sid: c.sid.clone(),
                from: c.from.clone(),
                to: c.to.clone(),
                time_limit: c.time_limit,
                talk_seconds: c.talk_seconds,
                heard: c.heard.clone(),
            })
            .collect(),
    )
}

pub(super) async fn get_faults(State(sb): State<Shared>) -> Json<Faults> {
    Json(*sb.faults.read().unwrap_or_else(|p| p.into_inner()))
}

pub(super) async fn set_faults(State(sb): State<Shared>, Json(f): Json<Faults>) -> Response {
    let valid = |r: f64| (0.0..=1.0).contains(&r);
    if !valid(f.error_rate) || !valid(f.timeout_rate) || f.error_rate + f.timeout_rate > 1.0 {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "rates must be between 0 and 1 and add up to at most 1",
        )
            .into_response();
    }
    *sb.faults.write().unwrap_or_else(|p| p.into_inner()) = f;
    Json(f).into_response()
}
