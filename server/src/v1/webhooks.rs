//! Webhooks: the org's endpoints (never their secrets, but once: in the answer that adds one) and
//! the delivery log of each, with a key acting as an owner or admin, as on the webhooks page.

use app::model::alerts::{AttemptView, DeliveryView, NewWebhook, WebhookView};
use app::model::api_keys::Scope;
use app::ssr::org_webhooks;
use axum::extract::rejection::JsonRejection;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{json, json_body, path_id, private, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct Webhook {
    id: i64,
    url: String,
    /// Off: nothing is sent to it (its pending deliveries wait).
    active: bool,
    /// RFC 3339.
    created_at: String,
    /// Who added it; null: an account since deleted.
    created_by: Option<String>,
}

impl From<WebhookView> for Webhook {
    fn from(w: WebhookView) -> Webhook {
        Webhook {
            id: w.id,
            url: w.url,
            active: w.active,
            created_at: w.created_iso,
            created_by: w.created_by,
        }
    }
}

/// An endpoint just added, with its signing secret: the only answer that ever holds it.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    id: i64,
    url: String,
    active: bool,
    /// RFC 3339.
    created_at: String,
    created_by: Option<String>,
    /// `whsec_…`: the key of the HMAC-SHA256 in each delivery's `PhoneHub-Signature: t=<unix
    /// seconds>,v1=<hex>` header, computed over `<t>.<raw body>`. Reject a `t` more than 300
    /// seconds away and a `PhoneHub-Event-Id` seen before. Shown this once.
    secret: String,
}

impl From<NewWebhook> for CreatedWebhook {
    fn from(n: NewWebhook) -> CreatedWebhook {
        let w = n.webhook;
        CreatedWebhook {
            id: w.id,
            url: w.url,
            active: w.active,
            created_at: w.created_iso,
            created_by: w.created_by,
            secret: n.secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    data: Vec<Webhook>,
}

/// An endpoint to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddWebhook {
    /// An https URL on the public internet, at most 2,000 characters (longer answers 422), without
    /// a user name or password.
    #[schema(example = "https://example.com/phonehub")]
    url: String,
}

#[derive(Serialize, ToSchema)]
pub struct Attempt {
    /// 1 for the first try.
    n: i32,
    /// RFC 3339.
    at: String,
    /// The receiver's HTTP status; null when it gave none.
    status: Option<i32>,
    /// Why there was no status (a timeout, a refused address…).
    error: Option<String>,
    /// The first KiB of the receiver's answer, as text.
    body_excerpt: String,
}

impl From<AttemptView> for Attempt {
    fn from(a: AttemptView) -> Attempt {
        Attempt {
            n: a.n,
            at: a.at_iso,
            status: a.status,
            error: a.error,
            body_excerpt: a.excerpt,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Delivery {
    id: i64,
    /// The event's id, also sent as `PhoneHub-Event-Id` (the same on every try).
    event_id: String,
    /// The event's type, e.g. `budget.threshold`.
    event: String,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = String, example = "delivered")]
    state: &'static str,
    attempts: i32,
    /// RFC 3339.
    created_at: String,
    /// The status of the last try.
    last_status: Option<i32>,
    /// RFC 3339; null until delivered.
    delivered_at: Option<String>,
    /// Each try, first try first.
    tries: Vec<Attempt>,
}

impl From<DeliveryView> for Delivery {
    fn from(d: DeliveryView) -> Delivery {
        Delivery {
            id: d.id,
            event_id: d.event_id,
            event: d.event,
            state: d.state.as_str(),
            attempts: d.attempts,
            created_at: d.created_iso,
            last_status: d.last_status,
            delivered_at: d.delivered_iso,
            tries: d.tries.into_iter().map(Attempt::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// The newest 100, newest first.
    data: Vec<Delivery>,
}

/// The org's webhook endpoints (keys acting as an owner or admin).
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "Webhooks", operation_id = "listWebhooks",
    responses(
        (status = 200, body = WebhookList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn list(caller: Caller) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Alerts)?;
    let data = org_webhooks::list(&c.ctx)
        .await?
        .into_iter()
        .map(Webhook::from)
        .collect();
    Ok(json(StatusCode::OK, &WebhookList { data }))
}

/// Add a webhook endpoint (keys acting as an owner or admin).
///
/// Answers the endpoint with its signing secret: keep it, it is never shown again. An org has at
/// most 10 endpoints.
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "Webhooks", operation_id = "addWebhook",
    request_body = AddWebhook,
    responses(
        (status = 201, body = CreatedWebhook, description = "Added: the answer holds the secret, this once", links(
            ("getWebhook" = (operation_id = "getWebhook", parameters(("id" = "$response.body#/id")))),
            ("deleteWebhook" = (operation_id = "deleteWebhook", parameters(("id" = "$response.body#/id")))),
            ("listWebhookDeliveries" = (operation_id = "listWebhookDeliveries", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The org has 10 endpoints already"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "The body is larger than 16 KiB"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn add(
    caller: Caller,
    body: Result<axum::Json<AddWebhook>, JsonRejection>,
) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Alerts)?;
    // Who may add comes before what the body says: a member's key gets 403.
    c.ctx.must_manage()?;
    let b = json_body(body)?;
    let made = org_webhooks::create(&c.ctx, &b.url).await?;
    Ok(json(StatusCode::CREATED, &CreatedWebhook::from(made)))
}

/// One webhook endpoint (keys acting as an owner or admin).
#[utoipa::path(
    get, path = "/v1/webhooks/{id}", tag = "Webhooks", operation_id = "getWebhook",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Webhook),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn get_one(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Alerts)?;
    let w = org_webhooks::get(&c.ctx, path_id(&id)?).await?;
    Ok(json(StatusCode::OK, &Webhook::from(w)))
}

/// Delete a webhook endpoint and its delivery log (keys acting as an owner or admin).
#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", tag = "Webhooks", operation_id = "deleteWebhook",
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn delete(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Alerts)?;
    let id = path_id(&id)?;
    org_webhooks::delete(&c.ctx, id).await?;
    Ok(private(StatusCode::NO_CONTENT.into_response()))
}

/// The newest deliveries to a webhook endpoint, each with its tries (keys acting as an owner or
/// admin).
#[utoipa::path(
    get, path = "/v1/webhooks/{id}/deliveries", tag = "Webhooks", operation_id = "listWebhookDeliveries",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = DeliveryList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
pub async fn deliveries(caller: Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let c = caller.needs(Scope::Alerts)?;
    let data = org_webhooks::deliveries(&c.ctx, path_id(&id)?)
        .await?
        .into_iter()
        .map(Delivery::from)
        .collect();
    Ok(json(StatusCode::OK, &DeliveryList { data }))
}
