//! Forms that work with JavaScript on (server actions) and off (plain POST, errors rendered by the server).

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos::server_fn::ServerFn;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The result of a plain (no-JS) form post that failed: the server renders the page again with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormOutcome {
    /// The server function's path, to tell which form on the page it belongs to.
    pub endpoint: String,
    /// The page the form was on. A no-JS error page is shown at the form's `/api/…` URL, so its
    /// forms carry this along (`_page`) for the next attempt.
    pub page: String,
    pub error: AppError,
    /// What was submitted (passwords excluded), to fill the form again.
    pub values: Vec<(String, String)>,
}

impl FormOutcome {
    pub fn value(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Read once per page, outside any `Suspense`, so hydration sees the same value as the server.
pub fn page_outcome() -> Option<FormOutcome> {
    SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use_context::<FormOutcome>()
        }
        #[cfg(not(feature = "ssr"))]
        {
            None
        }
    })
    .into_inner()
}

/// A successful plain (no-JS) form post whose answer is shown once on the form's page instead of
/// a redirect (a new API key): the server function's JSON answer, never stored anywhere.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ShownOnce {
    pub endpoint: String,
    pub body: String,
}

impl std::fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShownOnce({})", self.endpoint)
    }
}

/// The answer of the server function `S` shown once on this page (no-JS), read like
/// `page_outcome`.
pub fn page_shown_once<S>() -> Option<S::Output>
where
    S: ServerFn,
    S::Output: serde::de::DeserializeOwned,
{
    let shown: Option<ShownOnce> = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use_context::<ShownOnce>()
        }
        #[cfg(not(feature = "ssr"))]
        {
            None
        }
    })
    .into_inner();
    shown
        .filter(|s| s.endpoint == S::url())
        .and_then(|s| serde_json::from_str(&s.body).ok())
}

/// Bumped whenever a form on the page succeeds; page resources depend on it to reload.
#[derive(Clone, Copy)]
pub struct Refresh(pub RwSignal<u64>);

impl Refresh {
    pub fn provide() -> Refresh {
        let r = Refresh(RwSignal::new(0));
        provide_context(r);
        r
    }
    pub fn get() -> u64 {
        use_context::<Refresh>().map(|r| r.0.get()).unwrap_or(0)
    }
}

/// With JavaScript, bumps `tick` every `every` while `live` holds for the loaded page (pages key
/// their resource on `tick`, so they refetch); stops when the page goes away. Without JavaScript
/// pages refresh themselves with a `<noscript>` meta refresh instead.
pub fn poll_while<T>(
    data: crate::components::Data<Result<T, crate::error::AppError>>,
    live: fn(&T) -> bool,
    every: std::time::Duration,
    tick: RwSignal<u32>,
) where
    T: Clone + Send + Sync + 'static,
{
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                let on = data
                    .get_untracked()
                    .and_then(|r| r.ok())
                    .is_some_and(|d| live(&d));
                if on {
                    tick.update(|t| *t += 1);
                }
            },
            every,
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (data, live, every, tick);
}

/// The error state of one form: from its action once used (JS), else from the server render (no JS).
#[derive(Clone, Copy)]
pub struct FormState {
    error: Signal<Option<AppError>>,
    initial: StoredValue<Option<FormOutcome>>,
    page: StoredValue<Option<String>>,
    pub pending: Signal<bool>,
}

impl FormState {
    /// `key` picks one of several forms of the same action on a page (e.g. one per table row).
    pub fn new<S>(
        action: ServerAction<S>,
        outcome: &Option<FormOutcome>,
        key: Option<(&str, String)>,
    ) -> FormState
    where
        S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Clone + Send + Sync + 'static,
    {
        let endpoint = S::url();
        let page = outcome.as_ref().map(|o| o.page.clone());
        let mine = outcome.clone().filter(|o| {
            o.endpoint == endpoint
                && key
                    .as_ref()
                    .is_none_or(|(k, v)| o.value(k).as_deref() == Some(v.as_str()))
        });
        let ssr_error = mine.as_ref().map(|o| o.error.clone());
        let value = action.value();
        let version = action.version();
        let error = Signal::derive(move || {
            if version.get() > 0 {
                value.with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned()))
            } else {
                ssr_error.clone()
            }
        });
        if let Some(refresh) = use_context::<Refresh>() {
            Effect::new(move |_| {
                let ok = value.with(|v| matches!(v, Some(Ok(_))));
                if ok && version.get() > 0 {
                    refresh.0.update(|n| *n += 1);
                }
            });
        }
        FormState {
            error,
            initial: StoredValue::new(mine),
            page: StoredValue::new(page),
            pending: posting(endpoint),
        }
    }

    pub fn field_error(&self, name: &'static str) -> Signal<Option<String>> {
        let error = self.error;
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field_message(name))))
    }

    pub fn form_error(&self) -> Signal<Option<String>> {
        let error = self.error;
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.form_message())))
    }

    /// The submitted value to show again after a no-JS error.
    pub fn initial(&self, name: &str) -> Option<String> {
        self.initial
            .with_value(|o| o.as_ref().and_then(|o| o.value(name)))
    }
}

/// The form-level message (anything not about a single field). Put one in every form.
#[component]
pub fn FormError(form: FormState) -> impl IntoView {
    let msg = form.form_error();
    let page = form.page.get_value();
    view! {
        {page.map(|p| view! { <input type="hidden" name="_page" value=p /> })}
        <p class="form-error" role="alert" class:hidden=move || msg.with(|m| m.is_none())>
            {move || msg.get()}
        </p>
    }
}

#[component]
pub fn Field(
    form: FormState,
    label: &'static str,
    name: &'static str,
    /// Element id; defaults to the name. Must be unique on the page.
    #[prop(optional)]
    id: Option<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| name.to_string());
    let err_id = format!("{id}-error");
    let error = form.field_error(name);
    // Passwords are never echoed back.
    let initial = if kind == "password" {
        None
    } else {
        form.initial(name).or(value)
    };
    view! {
        <div class="field">
            <label for=id.clone() class="label">{label}</label>
            <input
                id=id
                name=name
                type=kind
                value=initial
                autocomplete=autocomplete
                required=required
                class="input"
                aria-invalid=move || if error.with(|e| e.is_some()) { "true" } else { "false" }
                aria-describedby=err_id.clone()
            />
            {hint.map(|h| view! { <p class="hint">{h}</p> })}
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

#[component]
pub fn SelectField(
    form: FormState,
    #[prop(into)] label: String,
    name: &'static str,
    #[prop(optional)] id: Option<String>,
    /// (value, label) pairs.
    options: Vec<(&'static str, &'static str)>,
    #[prop(into)] selected: String,
    #[prop(optional)] hide_label: bool,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| name.to_string());
    let err_id = format!("{id}-error");
    let error = form.field_error(name);
    let selected = form.initial(name).unwrap_or(selected);
    view! {
        <div class="field">
            <label for=id.clone() class="label" class:sr-only=hide_label>{label}</label>
            <select id=id name=name class="input" aria-describedby=err_id.clone()>
                {options
                    .into_iter()
                    .map(|(v, l)| {
                        view! {
                            <option value=v selected=selected == v>{l}</option>
                        }
                    })
                    .collect_view()}
            </select>
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// A form posting to the server function `S`: a plain `<form action=… method=post>`, so it works
/// without JavaScript; with it, submitting posts the same fields from the browser and puts the
/// answer in `action` (its value and version, as Leptos's own `ActionForm` does). The form, reading
/// its fields and the request are one function for every server function; only decoding `S`'s
/// answer is compiled once per function, which keeps the browser bundle small.
#[component]
pub fn ActionForm<S>(action: ServerAction<S>, children: Children) -> impl IntoView
where
    S: ServerFn<
            Error = AppError,
            Protocol = leptos::server_fn::Http<
                leptos::server_fn::codec::PostUrl,
                leptos::server_fn::codec::Json,
            >,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Output: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let (value, version) = (action.value(), action.version());
    let finish: Box<dyn Fn(Result<String, AppError>) + Send + Sync> =
        Box::new(move |answer: Result<String, AppError>| {
            let result = answer.and_then(|text| {
                serde_json::from_str::<S::Output>(&text).map_err(|_| AppError::Internal)
            });
            // The page may be gone by the time the answer arrives (the person moved on): then
            // there is nothing to show it on.
            if value.try_set(Some(result)).is_none() {
                version.try_update(|n| *n += 1);
            }
        });
    posting_form(S::url(), finish, children)
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// The server functions a form is posting to right now (the browser is one thread; the
    /// server never posts a form, so it holds no such state shared between requests).
    static IN_FLIGHT: ArcRwSignal<Vec<&'static str>> = ArcRwSignal::new(Vec::new());
}

/// Whether a form is posting to the server function at `url` (its buttons wait meanwhile).
/// Never on the server, which renders every form at rest.
pub fn posting(url: &'static str) -> Signal<bool> {
    #[cfg(feature = "hydrate")]
    {
        let in_flight = IN_FLIGHT.with(|s| s.clone());
        Signal::derive(move || in_flight.with(|v| v.contains(&url)))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        Signal::stored(false)
    }
}

/// The `<form>` of every `ActionForm`: on submit (unless another handler prevented it), its fields
/// go to `url` and the answer to `finish`.
fn posting_form(
    url: &'static str,
    finish: Box<dyn Fn(Result<String, AppError>) + Send + Sync>,
    children: Children,
) -> impl IntoView {
    let finish = std::sync::Arc::new(finish);
    leptos::html::form()
        .action(url)
        .method("post")
        .on(leptos::ev::submit, move |ev: leptos::ev::SubmitEvent| {
            if ev.default_prevented() {
                return;
            }
            ev.prevent_default();
            #[cfg(feature = "hydrate")]
            {
                let finish = finish.clone();
                let body = fields_of(&ev);
                leptos::task::spawn_local(async move {
                    IN_FLIGHT.with(|s| s.update(|v| v.push(url)));
                    let answer = match body {
                        Ok(body) => post(url, body).await,
                        Err(e) => Err(e),
                    };
                    IN_FLIGHT.with(|s| {
                        s.update(|v| {
                            if let Some(i) = v.iter().position(|u| *u == url) {
                                v.remove(i);
                            }
                        })
                    });
                    finish(answer);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = &finish;
        })
        .child(children())
}

/// The submitted form's fields, URL-encoded as the browser would post them (with the button that
/// submitted it).
#[cfg(feature = "hydrate")]
fn fields_of(ev: &leptos::ev::SubmitEvent) -> Result<String, AppError> {
    let unreadable = |_| AppError::BadRequest("The form could not be read.".into());
    let data = leptos::form::form_data_from_event(ev)
        .map_err(|e| AppError::BadRequest(format!("The form could not be read ({e}).")))?;
    let params = web_sys::UrlSearchParams::new_with_str_sequence_sequence(data.as_ref())
        .map_err(unreadable)?;
    Ok(String::from(params.to_string()))
}

/// Posts `body` to the server function at `url` as its browser client does (JSON answers, errors
/// in the function's error encoding, redirects through the router), answering the body's text.
#[cfg(feature = "hydrate")]
async fn post(url: &'static str, body: String) -> Result<String, AppError> {
    use leptos::server_fn::client::{browser::BrowserClient, Client};
    use leptos::server_fn::error::FromServerFnError;
    use leptos::server_fn::request::ClientReq;
    use leptos::server_fn::response::ClientRes;
    let req = <BrowserClient as Client<AppError>>::Request::try_new_post(
        url,
        "application/x-www-form-urlencoded",
        "application/json",
        body,
    )?;
    let res = <BrowserClient as Client<AppError>>::send(req).await?;
    let status = ClientRes::<AppError>::status(&res);
    let location = ClientRes::<AppError>::location(&res);
    let redirect = ClientRes::<AppError>::has_redirect(&res);
    let answer = if (400..=599).contains(&status) {
        Err(AppError::de(
            ClientRes::<AppError>::try_into_bytes(res).await?,
        ))
    } else {
        Ok(ClientRes::<AppError>::try_into_string(res).await?)
    };
    if (300..=399).contains(&status) || redirect {
        leptos::server_fn::redirect::call_redirect_hook(&location);
    }
    answer
}
