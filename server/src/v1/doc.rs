//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/v1/openapi.json`, and `/v1/docs`: the same document as a page (served by PhoneHub itself,
//! nothing from a CDN, no JavaScript).

use std::fmt::Write;
use std::sync::OnceLock;

use axum::response::{Html, IntoResponse, Response};
use http::{header, HeaderValue};
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::middleware::{escape, stylesheet_href};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PhoneHub API",
        description = "Look numbers up, buy numbers, place calls, send SMS, read usage and monthly statements, set budgets and destination rules, keep the opt-out list, set recording consent, retention and quiet hours, read notifications and manage webhooks from code. \
Authenticate with an API key from the org's API keys page: `Authorization: Bearer phk_…`. A key acts \
as one member of the org (their rights apply) within its scopes. Errors are RFC 9457 problem \
documents; lists are paged with opaque cursors; times are RFC 3339; money is integer micro-dollars \
plus a decimal string. Each key has a request budget per minute (`RateLimit` headers; 429 with \
`Retry-After` when spent)."
    ),
    paths(
        super::lookups::get_lookup,
        super::numbers::list,
        super::numbers::available,
        super::numbers::buy,
        super::numbers::get_one,
        super::numbers::update,
        super::numbers::release,
        super::calls::list,
        super::calls::place,
        super::calls::get_one,
        super::calls::recording,
        super::messages::list,
        super::messages::send,
        super::messages::get_one,
        super::messages::cancel,
        super::usage::get_usage,
        super::statements::list,
        super::statements::get_one,
        super::budgets::list,
        super::budgets::set,
        super::budgets::get_one,
        super::budgets::delete,
        super::budgets::grant_override,
        super::destinations::get_rules,
        super::destinations::set_rules,
        super::destinations::list_pauses,
        super::destinations::resume,
        super::opt_outs::list,
        super::opt_outs::add,
        super::opt_outs::get_one,
        super::opt_outs::remove,
        super::opt_outs::get_replies,
        super::opt_outs::set_replies,
        super::compliance::get_consent,
        super::compliance::set_consent,
        super::compliance::get_retention,
        super::compliance::set_retention,
        super::compliance::list_runs,
        super::compliance::get_quiet_hours,
        super::compliance::set_quiet_hours,
        super::call_blocks::get_blocking,
        super::call_blocks::set_blocking,
        super::call_blocks::add,
        super::call_blocks::remove,
        super::requests::get_one,
        super::requests::export,
        super::requests::erase,
        super::notifications::list,
        super::webhooks::list,
        super::webhooks::add,
        super::webhooks::get_one,
        super::webhooks::delete,
        super::webhooks::deliveries,
    ),
    modifiers(&KeyAuth),
    tags(
        (name = "Lookups", description = "Line type, carrier and caller name, through the shared cache"),
        (name = "Numbers", description = "Numbers the org holds and buys"),
        (name = "Calls", description = "Click-to-call, call history and recordings"),
        (name = "Messages", description = "SMS"),
        (name = "Usage", description = "What the org spends"),
        (name = "Statements", description = "Monthly statements: what the org, or one member, was billed in each closed month of the org's time zone, with adjustments and the comparison with Twilio"),
        (name = "Budgets", description = "What the org, or one member, may spend per day or month"),
        (name = "Destinations", description = "Where calls and texts may go: allowed countries, maximum prices, the blocked premium-rate ranges, and destinations paused by the velocity rule"),
        (name = "Opt-outs", description = "Who is opted out of the org's texts (a STOP or a variant texted to any of its numbers, the provider's list, or an admin's entry), with the proof; every text to them is refused before the provider is asked"),
        (name = "Compliance", description = "What callers hear before a call is recorded, and how long the org keeps recordings, message bodies, call and message records and lookup events (deleted at the provider too), with what each nightly run deleted, the quiet hours texts wait out, and what the org holds about one number (found, exported, erased)"),
        (name = "Call blocking", description = "Callers refused before anything rings (numbers, prefixes, hidden numbers) and the do-not-call list every call is checked against before the provider is asked"),
        (name = "Notifications", description = "What the key's member reads in the app: budget alerts and other news"),
        (name = "Webhooks", description = "Signed HTTPS deliveries of the org's events to its endpoints, and their logs"),
    )
)]
pub struct ApiDoc;

struct KeyAuth;

impl Modify for KeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("phk_<public id>_<secret>")
                        .build(),
                ),
            );
        }
    }
}

fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
        camel_case_links(&mut doc);
        serde_json::to_string_pretty(&doc).expect("the document serialises")
    })
}

/// utoipa 5.5 writes Link objects' fields in snake case (`operation_id`); OpenAPI names them in
/// camel case, and tools ignore the links otherwise.
fn camel_case_links(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut() {
                    if let serde_json::Value::Object(l) = link {
                        for (from, to) in [
                            ("operation_id", "operationId"),
                            ("operation_ref", "operationRef"),
                            ("request_body", "requestBody"),
                        ] {
                            if let Some(x) = l.remove(from) {
                                l.insert(to.into(), x);
                            }
                        }
                    }
                }
            }
            map.values_mut().for_each(camel_case_links);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}

pub async fn openapi_json() -> Response {
    let mut res = document().to_string().into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

pub async fn docs_page() -> Response {
    static PAGE: OnceLock<String> = OnceLock::new();
    let html = PAGE.get_or_init(render_docs);
    let mut res = Html(html.clone()).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// `#/components/schemas/Name` → `Name`.
fn ref_name(r: &RefOr<Schema>) -> String {
    match r {
        RefOr::Ref(r) => r
            .ref_location
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        RefOr::T(_) => "inline".into(),
    }
}

/// Escapes `s` and turns `code` spans into `<code>`.
fn prose(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(s).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A schema's type as the page shows it: a linked object name, `array of …`, or the JSON type.
fn type_of(v: &serde_json::Value) -> String {
    if let Some(r) = v.get("$ref").and_then(|r| r.as_str()) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return format!(
            "<a class=\"link\" href=\"#schema-{n}\">{n}</a>",
            n = escape(name)
        );
    }
    if let Some(items) = v.get("items") {
        return format!("array of {}", type_of(items));
    }
    if let Some(one) = v.get("oneOf").and_then(|o| o.as_array()) {
        let kinds: Vec<String> = one
            .iter()
            .filter(|x| x.get("type").and_then(|t| t.as_str()) != Some("null"))
            .map(type_of)
            .collect();
        return format!("{} or null", kinds.join(" or "));
    }
    match v.get("type") {
        Some(serde_json::Value::String(t)) => escape(t),
        Some(serde_json::Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .map(escape)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}

/// Every object of the document, with its fields.
fn render_objects(doc: &serde_json::Value, body: &mut String) {
    body.push_str("<h2 class=\"mt-8 text-xl font-semibold\" id=\"objects\">Objects</h2>");
    let Some(schemas) = doc["components"]["schemas"].as_object() else {
        return;
    };
    for (name, schema) in schemas {
        let _ = write!(
            body,
            "<section class=\"card mt-3\" id=\"schema-{n}\"><h3 class=\"font-mono text-sm font-semibold\">{n}</h3>",
            n = escape(name)
        );
        if let Some(d) = schema.get("description").and_then(|d| d.as_str()) {
            let _ = write!(body, "<p class=\"muted mt-1 text-sm\">{}</p>", prose(d));
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            body.push_str("<table class=\"table mt-2 text-sm\"><tbody>");
            for (field, f) in props {
                let _ = write!(
                    body,
                    "<tr><td class=\"font-mono\">{}{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                    escape(field),
                    if required.contains(&field.as_str()) { "" } else { "?" },
                    type_of(f),
                    prose(f.get("description").and_then(|d| d.as_str()).unwrap_or_default())
                );
            }
            body.push_str("</tbody></table>");
        }
        body.push_str("</section>");
    }
}

/// The operations of the API as (method, path, operation), in the document's path order, with
/// GET, POST, PUT, PATCH and DELETE in that order within each path.
fn operations(api: &utoipa::openapi::OpenApi) -> Vec<(String, String, &Operation)> {
    let mut ops: Vec<(String, String, &Operation)> = Vec::new();
    for (path, item) in api.paths.paths.iter() {
        for (m, op) in [
            (HttpMethod::Get, &item.get),
            (HttpMethod::Post, &item.post),
            (HttpMethod::Put, &item.put),
            (HttpMethod::Patch, &item.patch),
            (HttpMethod::Delete, &item.delete),
        ] {
            if let Some(op) = op {
                ops.push((method_name(&m).to_string(), path.clone(), op));
            }
        }
    }
    ops
}

/// The parameters of one operation as a list, with where each goes (path, query, …).
fn render_parameters(op: &Operation, body: &mut String) {
    if let Some(params) = &op.parameters {
        body.push_str("<ul class=\"mt-2 text-sm\">");
        for p in params {
            let place = match p.parameter_in {
                ParameterIn::Path => "path",
                ParameterIn::Query => "query",
                ParameterIn::Header => "header",
                ParameterIn::Cookie => "cookie",
            };
            let _ = write!(
                body,
                "<li><code>{}</code> <span class=\"muted\">({place})</span> {}</li>",
                escape(&p.name),
                prose(p.description.as_deref().unwrap_or_default())
            );
        }
        body.push_str("</ul>");
    }
}

/// The answers of one operation: each status code, linked to its object when it has one.
fn render_answers(op: &Operation, body: &mut String) {
    body.push_str("<p class=\"mt-2 text-sm\">Answers: ");
    let answers: Vec<String> = op
        .responses
        .responses
        .iter()
        .map(|(status, r)| {
            let schema = match r {
                RefOr::T(r) => r
                    .content
                    .values()
                    .next()
                    .and_then(|c| c.schema.as_ref())
                    .map(ref_name),
                RefOr::Ref(_) => None,
            };
            match schema {
                Some(s) => format!(
                    "<code>{}</code> <a class=\"link\" href=\"#schema-{n}\">{n}</a>",
                    escape(status),
                    n = escape(&s)
                ),
                None => format!("<code>{}</code>", escape(status)),
            }
        })
        .collect();
    body.push_str(&answers.join(", "));
    body.push_str("</p>");
}

/// One operation as a card: method and path, summary, parameters, body and answers.
fn render_operation(method: &str, path: &str, op: &Operation, body: &mut String) {
    let _ = write!(
        body,
        "<section class=\"card mt-3\"><h3 class=\"font-mono text-sm font-semibold\"><span class=\"badge\">{method}</span> {path}</h3>\
         <p class=\"mt-1 font-medium\">{summary}</p><p class=\"muted mt-1 text-sm\">{desc}</p>",
        path = escape(path),
        summary = prose(op.summary.as_deref().unwrap_or_default()),
        desc = prose(op.description.as_deref().unwrap_or_default()),
    );
    render_parameters(op, body);
    if let Some(rb) = &op.request_body {
        for (ct, c) in rb.content.iter() {
            let name = c.schema.as_ref().map(ref_name).unwrap_or_default();
            let _ = write!(
                body,
                "<p class=\"mt-2 text-sm\">Body: <a class=\"link\" href=\"#schema-{n}\">{n}</a> ({})</p>",
                escape(ct),
                n = escape(&name)
            );
        }
    }
    render_answers(op, body);
    body.push_str("</section>");
}

/// Every tag of the document as a heading, followed by the operations that carry that tag
/// (an operation's first tag decides where it goes).
fn render_operations(api: &utoipa::openapi::OpenApi, body: &mut String) {
    let ops = operations(api);
    let tag_of = |op: &Operation| {
        op.tags
            .as_ref()
            .and_then(|t| t.first().cloned())
            .unwrap_or_default()
    };
    for tag in api.tags.iter().flatten() {
        let _ = write!(
            body,
            "<h2 class=\"mt-8 text-xl font-semibold\" id=\"{id}\">{name}</h2><p class=\"muted text-sm\">{desc}</p>",
            id = escape(&tag.name.to_lowercase()),
            name = escape(&tag.name),
            desc = escape(tag.description.as_deref().unwrap_or_default())
        );
        for (method, path, op) in ops.iter().filter(|(_, _, op)| tag_of(op) == tag.name) {
            render_operation(method, path, op, body);
        }
    }
}

/// The whole API reference page: title and description, getting started, the operations by
/// tag, then every object.
fn render_docs() -> String {
    let api = ApiDoc::openapi();
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1 class=\"text-2xl font-semibold\">{}</h1><p class=\"mt-2 max-w-3xl text-sm\">{}</p>\
         <p class=\"mt-2 text-sm\"><a class=\"link\" href=\"/v1/openapi.json\">OpenAPI document (JSON)</a></p>",
        escape(&api.info.title),
        prose(api.info.description.as_deref().unwrap_or_default())
    );
    body.push_str(
        "<section class=\"card mt-6\"><h2 class=\"text-lg font-semibold\">Getting started</h2>\
         <pre class=\"mt-2 overflow-x-auto text-xs\">export PHONEHUB=https://phonehub.example.com\n\
         export KEY=phk_…   # from the org's API keys page\n\
         curl -H \"Authorization: Bearer $KEY\" $PHONEHUB/v1/lookups/+14155552671</pre></section>",
    );
    render_operations(&api, &mut body);
    let doc: serde_json::Value = serde_json::from_str(document()).unwrap_or_default();
    render_objects(&doc, &mut body);
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>API reference · PhoneHub</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body class=\"min-h-screen bg-slate-50 text-slate-900\"><main class=\"mx-auto max-w-4xl px-4 py-8\">\
         <p><a class=\"link\" href=\"/\">← PhoneHub</a></p>{body}</main></body></html>",
        css = stylesheet_href()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_every_operation_behind_the_key() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        let mut ops = 0;
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                ops += 1;
                assert_eq!(
                    op["security"][0]["api_key"],
                    serde_json::json!([]),
                    "{method} {path}"
                );
                assert!(op["responses"]["401"].is_object(), "{method} {path}");
            }
        }
        assert_eq!(ops, 53);
        let link = &doc["paths"]["/v1/numbers"]["post"]["responses"]["201"]["links"]["getNumber"];
        assert_eq!(link["operationId"], "getNumber");
        assert!(link.get("operation_id").is_none());
        assert_eq!(
            doc["components"]["securitySchemes"]["api_key"]["scheme"],
            "bearer"
        );
    }
}
