//! PhoneHub's web app: the HTML shell, routes, pages and server functions (shared by server and browser).
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use components::Nav;
use pages::*;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    // `make dist` names the bundle `phonehub.<hash>`: its stylesheet follows the same name.
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="data:," />
                <link rel="stylesheet" id="leptos" href=css />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900">
                <App />
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: our own scripts, wasm and styles, plus the inline hydration
/// scripts Leptos writes, which carry this response's nonce. Nothing else runs, nothing frames us.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(v) = http::HeaderValue::from_str(&policy) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Pages wait for their data before the first byte (SsrMode::Async): they then work without
    // JavaScript and can answer 404/403 with the right status.
    view! {
        <Title formatter=|t: String| if t.is_empty() { "PhoneHub".to_string() } else { format!("{t} · PhoneHub") } />
        <Router>
            <Nav />
            <main class="mx-auto max-w-6xl px-4 py-8">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/orgs") view=AdminOrgsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org") view=DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/members") view=MembersPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/lookup") view=LookupPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/numbers") view=NumbersListPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/numbers/buy") view=BuyNumberPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/numbers/:id") view=NumberDetailPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/calls") view=CallsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/calls/new") view=NewCallPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/calls/:id") view=CallDetailPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/sms") view=SmsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/usage") view=UsagePage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/api-keys") view=ApiKeysPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/budgets") view=BudgetsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/destinations") view=DestinationsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/opt-outs") view=OptOutsPage ssr=SsrMode::Async />
                    // A failed CSV import is answered at its own URL with the page and the error.
                    <Route path=path!("/o/:org/admin/opt-outs/import") view=OptOutsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/compliance") view=CompliancePage ssr=SsrMode::Async />
                    // A failed announcement upload is answered at its own URL with the page and the error.
                    <Route path=path!("/o/:org/admin/compliance/audio") view=CompliancePage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/requests") view=RequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/call-blocking") view=CallBlockingPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/webhooks") view=WebhooksPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/webhooks/:id") view=WebhookLogPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/notifications") view=NotificationsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/statements") view=StatementsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/statements/:id") view=StatementPage ssr=SsrMode::Async />
                    <Route path=path!("/staff") view=StaffHomePage ssr=SsrMode::Async />
                    <Route path=path!("/staff/audit") view=StaffAuditPage ssr=SsrMode::Async />
                    <Route path=path!("/staff/orgs/:org") view=StaffOrgPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/lookups/bulk") view=BulkPage ssr=SsrMode::Async />
                    // A failed upload (a plain multipart post, JavaScript on or off) is answered at
                    // its own URL with the bulk page and the error; the route lets it hydrate.
                    <Route path=path!("/o/:org/lookups/bulk/upload") view=BulkPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/lookups") view=LookupStatsPage ssr=SsrMode::Async />
                    <Route path=path!("/o/:org/admin/phone-config") view=PhoneConfigPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/phone-config") view=PhoneConfigPage ssr=SsrMode::Async />
                    <Route path=path!("/staff/lookups") view=StaffLookupsPage ssr=SsrMode::Async />
                    <Route path=path!("/staff/budgets") view=StaffBudgetsPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
