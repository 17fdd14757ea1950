//! The SVG charts of the figures pages (rendered on the server; the same size and frame for all).

use charts_rs::Box as Padding;
use time::Date;

use super::db::lookups::Day;
use super::db::usage::DaySpend;
use crate::model::usage::CATEGORIES;

/// Width, height and margin of every chart.
fn frame() -> (f32, f32, Padding) {
    let margin = Padding {
        left: 10.0,
        top: 10.0,
        right: 10.0,
        bottom: 10.0,
    };
    (900.0, 320.0, margin)
}

/// The chart's SVG, or nothing (the page shows its tables) when rendering fails.
fn svg(rendered: Result<String, charts_rs::CanvasError>) -> String {
    rendered.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "chart rendering failed");
        String::new()
    })
}

/// Lookups per day: cache hits, paid lookups and errors.
pub fn lookups(from: Date, to: Date, days: &[Day]) -> String {
    use charts_rs::{BarChart, Series};
    let mut labels = Vec::new();
    let (mut hits, mut paid, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut d = from;
    let mut it = days.iter().peekable();
    while d <= to {
        let (h, p, e) = match it.peek() {
            Some(x) if x.day == d => it
                .next()
                .map(|x| (x.hits, x.paid, x.errors))
                .unwrap_or_default(),
            _ => (0, 0, 0),
        };
        labels.push(format!("{}", d.day()));
        hits.push(h as f32);
        paid.push(p as f32);
        errors.push(e as f32);
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    let mut chart = BarChart::new(
        vec![
            Series::new("Cache hits".into(), hits),
            Series::new("Paid lookups".into(), paid),
            Series::new("Errors".into(), errors),
        ],
        labels,
    );
    (chart.width, chart.height, chart.margin) = frame();
    chart.series_colors = vec!["#0d9488".into(), "#4f46e5".into(), "#dc2626".into()];
    svg(chart.svg())
}

/// Spend per day, stacked by category (each area is the running total up to its category).
pub fn spend(from: Date, to: Date, daily: &[DaySpend]) -> String {
    use charts_rs::{LineChart, Series};
    let mut labels = Vec::new();
    let mut per_cat: Vec<Vec<f32>> = vec![Vec::new(); CATEGORIES.len()];
    let mut d = from;
    while d <= to {
        labels.push(format!("{}", d.day()));
        let mut running = 0f32;
        for (i, (c, _, _)) in CATEGORIES.iter().enumerate() {
            let m: i64 = daily
                .iter()
                .filter(|x| x.day == d && x.category == *c)
                .map(|x| x.micros)
                .sum();
            running += m as f32 / 1_000_000.0;
            per_cat[i].push(running);
        }
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    const SHORT: [&str; 5] = ["Numbers", "Calls", "Recordings", "Lookups", "SMS"];
    // Drawn top layer first so each lower band shows over it.
    let colors = ["#64748b", "#4f46e5", "#0d9488", "#d97706", "#db2777"];
    let mut series = Vec::new();
    let mut series_colors = Vec::new();
    for i in (0..CATEGORIES.len()).rev() {
        series.push(Series::new(SHORT[i].into(), per_cat[i].clone()));
        series_colors.push(colors[i].into());
    }
    let mut chart = LineChart::new(series, labels);
    chart.series_fill = true;
    chart.series_smooth = false;
    chart.series_symbol = None;
    (chart.width, chart.height, chart.margin) = frame();
    chart.series_colors = series_colors;
    svg(chart.svg())
}
