//! What a person reads when a lookup, a call, a purchase or an SMS fails, or a destination is
//! refused or paused: every sentence for the server layer's error enums is chosen here.

use telephony::ProviderError;

use crate::error::AppError;
use crate::model::destinations::{Channel, DestKey};
use crate::ssr::errors::{
    BuildError, CallError, CappedBudget, DestinationError, GuardError, LimitError, Limited,
    LookupError, NoProvider, NumberError, RecordingError, Refusal, SmsError,
};
use crate::ssr::format::utc_minute;

/// The provider's answer to a search, purchase, call or message, as a person would want to read
/// it (`area_code`: the one searched in, if any).
pub fn provider(e: &ProviderError, area_code: Option<&str>) -> AppError {
    match e {
        ProviderError::Auth { .. } => AppError::Upstream(
            "The phone provider rejected this org's credentials. An org admin should check Phone config."
                .into(),
        ),
        ProviderError::Rejected { code: Some(21452), .. } => AppError::validation(
            "area_code",
            match area_code.filter(|a| !a.is_empty()) {
                Some(a) => format!("No numbers available in area code {a} — try a nearby area code."),
                None => "No numbers match these filters — try fewer filters.".into(),
            },
        ),
        ProviderError::Rejected { code: Some(21422), .. } => AppError::Conflict(
            "That number is no longer available — someone else bought it. Search again.".into(),
        ),
        ProviderError::Rejected { message, .. } => {
            AppError::Upstream(format!("The provider refused: {message}."))
        }
        ProviderError::RateLimited { .. } => AppError::TooManyRequests(
            "The provider is busy right now. Try again in a minute.".into(),
        ),
        ProviderError::NotFound { .. } => {
            AppError::Upstream("The provider does not know that number.".into())
        }
        ProviderError::Unsupported { operation } => AppError::Conflict(unsupported(operation)),
        other => AppError::Upstream(format!("The provider could not be reached: {other}.")),
    }
}

/// What a provider cannot do (AWS has no numbers to buy, calls or recordings here).
pub fn unsupported(operation: &str) -> String {
    format!("This org's phone configuration uses Amazon Web Services, which PhoneHub uses for SMS and lookups only: {operation} needs a Twilio configuration. An org admin can change it under Phone config.")
}

pub fn no_provider(e: &NoProvider) -> AppError {
    match e {
        NoProvider::NotConfigured => AppError::Conflict(
            "No phone provider is configured for this org. An org admin can set one up under Phone config."
                .into(),
        ),
        NoProvider::ConfigGone(_) => AppError::Conflict(
            "The phone configuration this number was bought with is gone.".into(),
        ),
        NoProvider::Unusable(b) => AppError::Conflict(build(b)),
        NoProvider::Db(_) => AppError::Internal,
    }
}

pub fn limit(e: &LimitError) -> AppError {
    match e {
        LimitError::Reached { what, limit } => AppError::TooManyRequests(match what {
            Limited::Purchase => {
                format!("You can buy at most {limit} numbers an hour. Try again later.")
            }
            Limited::Call => {
                format!("You can place at most {limit} calls an hour. Try again later.")
            }
            Limited::Sms => {
                format!("You can send at most {limit} messages an hour. Try again later.")
            }
        }),
        LimitError::Db(_) => AppError::Internal,
    }
}

/// A paid action a hard cap refuses: which budget, what it has left, who can raise it.
pub fn guard(e: &GuardError) -> AppError {
    match e {
        GuardError::Capped(b) => AppError::PaymentRequired(capped(b)),
        GuardError::Db(_) => AppError::Internal,
    }
}

fn capped(b: &CappedBudget) -> String {
    use crate::model::money::Money;
    let whose = match &b.member {
        Some(email) => format!("{email}'s"),
        None => "the org's".to_string(),
    };
    let (every, this) = if b.period == "day" {
        ("daily", "today")
    } else {
        ("monthly", "this month")
    };
    let what = match b.category.as_deref() {
        Some("sms") => "SMS ",
        Some("calls") => "calls ",
        Some("lookups") => "paid-lookup ",
        Some("numbers") => "number-rental ",
        _ => "",
    };
    format!(
        "This would pass {whose} {every} {what}budget of {} ({} left {this}). An owner or admin of the org can raise it under Admin → Budgets.",
        Money::from_micros(b.amount_micros),
        Money::from_micros(b.left_micros),
    )
}

impl From<GuardError> for AppError {
    fn from(e: GuardError) -> AppError {
        match e {
            GuardError::Db(d) => d.into(),
            other => guard(&other),
        }
    }
}

/// A call or text the org's destination rules refuse (403, the sentence saying why).
pub fn destination(e: &DestinationError) -> AppError {
    match e {
        DestinationError::Refused(r) => AppError::DestinationRefused(refusal(r)),
        DestinationError::Db(_) => AppError::Internal,
    }
}

impl From<DestinationError> for AppError {
    fn from(e: DestinationError) -> AppError {
        match e {
            DestinationError::Db(d) => d.into(),
            other => destination(&other),
        }
    }
}

/// Why a destination is refused, and who can change that.
pub fn refusal(r: &Refusal) -> String {
    use crate::model::money::Money;
    const WHO: &str = "An owner or admin can change it under Admin → Destinations.";
    let m = |micros: &i64| Money::from_micros(*micros);
    match r {
        Refusal::Blocked { shown, kind } => {
            format!("{shown}… is a {} number, blocked for this org.", range_kind(kind))
        }
        Refusal::Country { channel, country: Some(c), .. } => format!(
            "{} to {} are not allowed in this org: an owner or admin can allow it under Admin → Destinations.",
            channel.plural(),
            country_label(c)
        ),
        Refusal::Country { channel, country: None, cc } => format!(
            "{} to +{cc} numbers, which belong to no country, are not allowed.",
            channel.plural()
        ),
        Refusal::Price { channel: Channel::Sms, micros, max_micros } => format!(
            "This message would cost {}, over the org's maximum of {} per message. {WHO}",
            m(micros),
            m(max_micros)
        ),
        Refusal::Price { channel: Channel::Call, micros, max_micros } => format!(
            "This call would cost {} a minute, over the org's maximum of {} a minute. {WHO}",
            m(micros),
            m(max_micros)
        ),
        Refusal::Paused { channel, key, per_hour } => format!(
            "{} to {} are paused after {per_hour} in an hour. An owner or admin can resume them under Admin → Destinations.",
            channel.plural(),
            destination_shown(key)
        ),
    }
}

/// A destination of the velocity rule as people read it: "United Kingdom", "+447400…".
pub fn destination_shown(key: &DestKey) -> String {
    match key {
        DestKey::Country(c) => country_label(c),
        DestKey::Prefix(p) => format!("{p}…"),
    }
}

fn country_label(code: &str) -> String {
    crate::model::countries::country_name(code)
        .unwrap_or(code)
        .to_string()
}

/// A kind of the shipped blocked list as a sentence names it ("a premium-rate number").
pub fn range_kind(kind: &str) -> &'static str {
    match kind {
        "premium" => "premium-rate",
        "shared-cost" => "shared-cost",
        "revenue-share" => "revenue-sharing",
        "satellite" => "satellite",
        "international-network" => "international-network",
        "personal" => "personal-numbering",
        "pager" => "paging",
        "allowed" => "allowed (an exception)",
        _ => "special-rate",
    }
}

/// Where the shipped blocked list comes from (`app/data/blocked_prefixes.tsv` names each source).
pub fn blocked_sources() -> &'static str {
    "ITU-T's E.164 assigned codes, NANPA, Ofcom, ARCEP, the Bundesnetzagentur, AGCOM, Spain's numbering plan and BTK, checked against libphonenumber's metadata"
}

/// What a counted refusal's reason means.
pub fn refusal_reason(reason: &str) -> &'static str {
    match reason {
        "country" => "Country not allowed",
        "blocked" => "Premium or special range",
        "price" => "Over the maximum price",
        "paused" => "Destination paused",
        _ => "Other",
    }
}

/// The notification (title, body) the org's owners and admins get when the velocity rule pauses
/// `key`: what tripped it, what happens meanwhile, and where to resume it.
pub fn paused_notice(
    (org_name, org_slug): (&str, &str),
    channel: Channel,
    key: &DestKey,
    per_hour: i32,
    public_url: &url::Url,
) -> (String, String) {
    let what = channel.plural();
    let to = destination_shown(key);
    let title = format!(
        "{org_name}: {} to {to} paused after {per_hour} in an hour",
        what.to_lowercase()
    );
    let body = format!(
        "{what} to {to} reached the org's limit of {per_hour} in an hour, which is how SMS pumping and toll fraud look. \
         Until an owner or admin resumes them, texts sent there are held (not lost, not charged) and calls are refused. \
         Resuming sends the held texts.\n\nDestinations: {public_url}o/{org_slug}/admin/destinations"
    );
    (title, body)
}

/// A pause resumed before, with nothing left held under it.
pub fn pause_already_resumed() -> AppError {
    AppError::Conflict(
        "These sends were already resumed, and no held text is waiting under this pause.".into(),
    )
}

pub fn call(e: &CallError) -> AppError {
    match e {
        CallError::NotYours => AppError::validation(
            "number_id",
            "Choose one of your numbers or a team number.",
        ),
        CallError::Inactive => AppError::validation(
            "number_id",
            "This number is inactive. Turn it on in its settings to call from it.",
        ),
        CallError::NoVoice => AppError::validation(
            "number_id",
            "This number cannot make voice calls.",
        ),
        CallError::NoBridge => AppError::validation(
            "number_id",
            "Set “Forward calls to” on this number first: PhoneHub rings that phone, then connects you.",
        ),
        CallError::OwnNumber => AppError::validation(
            "to",
            "Call someone else: this is your own number.",
        ),
        CallError::BridgeDoNotCall { entry } => AppError::validation(
            "number_id",
            format!("Not called: this number's “Forward calls to” phone is rung first, and {entry} is on this org's do-not-call list. Change where the number forwards calls."),
        ),
        CallError::DoNotCall { entry } => AppError::validation(
            "to",
            format!("Not called: {entry} is on this org's do-not-call list. An owner or admin can take it off on the Call blocking page."),
        ),
        CallError::Provider(ProviderError::Rejected {
            code: Some(21211 | 21214 | 21217),
            ..
        }) => AppError::validation("to", "The provider cannot call this number."),
        CallError::Provider(p) => provider(p, None),
        CallError::NoProvider(n) => no_provider(n),
        CallError::Limited(l) => limit(l),
        CallError::Guard(g) => guard(g),
        CallError::Destination(d) => destination(d),
        CallError::Db(_) => AppError::Internal,
    }
}

/// Kept on a call the provider may or may not have placed.
pub fn call_unconfirmed(e: &ProviderError) -> String {
    format!("The provider did not confirm the call ({e}). If your phone rings, it went through.")
}

pub fn recording(e: &RecordingError) -> AppError {
    match e {
        RecordingError::NotFound => AppError::NotFound,
        // The provider's words stay in the log; the page says ours.
        RecordingError::Provider(_) => {
            AppError::Upstream("The provider could not send the recording. Try again later.".into())
        }
        RecordingError::NoProvider(n) => no_provider(n),
        RecordingError::Db(_) => AppError::Internal,
    }
}

pub fn number(e: &NumberError) -> AppError {
    match e {
        NumberError::StillPurchasing => AppError::Conflict(
            "This purchase is still in progress. Check My numbers in a moment.".into(),
        ),
        NumberError::FailedBefore(last) => AppError::Conflict(last.clone().unwrap_or_else(|| {
            "This purchase failed. Search again to buy another number.".into()
        })),
        NumberError::AlreadyBuying => AppError::Conflict(
            "This purchase is already in progress. Check My numbers in a moment.".into(),
        ),
        NumberError::Taken => AppError::Conflict(
            "That number already belongs to an org here. Search for another one.".into(),
        ),
        NumberError::OutcomeUnknown(_) => AppError::Upstream(
            "The provider did not answer. PhoneHub is checking whether the purchase went through; the number will show under My numbers either way.".into(),
        ),
        // A purchase has no field left to correct: a field error becomes a conflict.
        NumberError::PurchaseRefused(p) => match provider(p, None) {
            AppError::Validation { message, .. } => AppError::Conflict(message),
            other => other,
        },
        NumberError::Search { source, area_code } => provider(source, Some(area_code)),
        NumberError::Provider(p) => provider(p, None),
        NumberError::NotReleasable => AppError::Conflict(
            "This number cannot be released now (it is not active).".into(),
        ),
        NumberError::NotSandbox => AppError::Conflict(
            "Only numbers on the sandbox can be sent simulated calls and messages.".into(),
        ),
        NumberError::NoSandbox => AppError::Conflict(
            "The development sandbox is not available on this server.".into(),
        ),
        NumberError::SandboxNoToken => {
            AppError::Conflict("The sandbox configuration has no token.".into())
        }
        NumberError::SandboxUnreachable(r) => {
            AppError::Upstream(format!("The sandbox could not be reached: {r}."))
        }
        NumberError::SandboxRefused(m) => AppError::Upstream(format!("The sandbox refused: {m}.")),
        NumberError::Client(_) => AppError::Internal,
        NumberError::NoProvider(n) => no_provider(n),
        NumberError::Limited(l) => limit(l),
        NumberError::Guard(g) => guard(g),
        NumberError::Db(_) => AppError::Internal,
    }
}

/// Kept on a purchase whose outcome is not known yet.
pub fn purchase_unknown_note() -> &'static str {
    "The provider did not answer; PhoneHub is checking whether the purchase went through."
}

/// Kept on a number whose release the provider did not confirm (it is retried).
pub fn release_unconfirmed(e: &ProviderError) -> String {
    format!("The provider did not confirm the release: {e}.")
}

pub fn sms(e: &SmsError) -> AppError {
    match e {
        SmsError::NotASender => AppError::validation(
            "from",
            "Choose one of your SMS numbers, a team number or the org's sender.",
        ),
        SmsError::TextsItself => AppError::validation("to", "A number cannot text itself."),
        SmsError::OptedOut(why) => AppError::OptedOut(why.clone()),
        SmsError::Provider(ProviderError::Rejected {
            code: Some(21211 | 21614),
            ..
        }) => AppError::validation("to", "The provider cannot text this number."),
        SmsError::Provider(ProviderError::Rejected {
            code: Some(21610), ..
        }) => AppError::validation(
            "to",
            "This recipient has opted out of messages from this number.",
        ),
        SmsError::Provider(ProviderError::Rejected {
            code: Some(21606), ..
        }) => AppError::validation("from", "The provider cannot send SMS from this number."),
        SmsError::Provider(p) => provider(p, None),
        SmsError::NoProvider(n) => no_provider(n),
        SmsError::Limited(l) => limit(l),
        SmsError::Guard(g) => guard(g),
        SmsError::Destination(d) => destination(d),
        SmsError::Db(_) => AppError::Internal,
    }
}

/// What the carrier's error code on a delivery report means for the person who sent the message.
pub fn carrier_error(code: i32) -> String {
    match code {
        30003 => "The recipient's phone is unreachable.".to_string(),
        30005 => "The recipient's number does not exist.".to_string(),
        30006 => "The recipient cannot receive SMS (landline or unreachable carrier).".to_string(),
        30007 => "The carrier filtered this message.".to_string(),
        other => format!("The carrier reported error {other}."),
    }
}

/// Why something failed: the full cause chain, for the log (the person reads the words).
fn log_refusal(e: &dyn std::error::Error) {
    let mut chain = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    tracing::debug!(error = %chain, "refused");
}

// Database failures keep their own handling (logged, 503 or 500); everything else is worded above.

impl From<NoProvider> for AppError {
    fn from(e: NoProvider) -> AppError {
        match e {
            NoProvider::Db(d) => d.into(),
            other => {
                log_refusal(&other);
                no_provider(&other)
            }
        }
    }
}

impl From<LimitError> for AppError {
    fn from(e: LimitError) -> AppError {
        match e {
            LimitError::Db(d) => d.into(),
            other => limit(&other),
        }
    }
}

impl From<CallError> for AppError {
    fn from(e: CallError) -> AppError {
        match e {
            CallError::Db(d) => d.into(),
            CallError::NoProvider(n) => n.into(),
            CallError::Limited(l) => l.into(),
            CallError::Guard(g) => g.into(),
            CallError::Destination(d) => d.into(),
            other => {
                log_refusal(&other);
                call(&other)
            }
        }
    }
}

impl From<RecordingError> for AppError {
    fn from(e: RecordingError) -> AppError {
        match e {
            RecordingError::Db(d) => d.into(),
            RecordingError::NoProvider(n) => n.into(),
            other => {
                log_refusal(&other);
                recording(&other)
            }
        }
    }
}

impl From<NumberError> for AppError {
    fn from(e: NumberError) -> AppError {
        match e {
            NumberError::Db(d) => d.into(),
            NumberError::NoProvider(n) => n.into(),
            NumberError::Limited(l) => l.into(),
            NumberError::Guard(g) => g.into(),
            other => {
                log_refusal(&other);
                number(&other)
            }
        }
    }
}

impl From<SmsError> for AppError {
    fn from(e: SmsError) -> AppError {
        match e {
            SmsError::Db(d) => d.into(),
            SmsError::NoProvider(n) => n.into(),
            SmsError::Limited(l) => l.into(),
            SmsError::Guard(g) => g.into(),
            SmsError::Destination(d) => d.into(),
            other => {
                log_refusal(&other);
                sms(&other)
            }
        }
    }
}

/// Why a phone configuration cannot be used.
pub fn build(e: &BuildError) -> String {
    match e {
        BuildError::NoToken => "This configuration has no auth token yet. Enter one and save.".into(),
        BuildError::Unreadable(why) => {
            format!("The stored auth token cannot be read ({why}). Enter it again.")
        }
        BuildError::Invalid(why) => format!("The configuration is unusable: {why}"),
        BuildError::TokenElsewhere => "The auth token was saved for another provider, region, account or address. Enter it again under Phone config.".into(),
        BuildError::NoSandbox => "The development sandbox is not available on this server.".into(),
    }
}

/// A lookup's failure about a number, as stored on the shared cache row and shown to whoever asks
/// until the retry time (the provider's own words stay in the log: the row is shown to every org).
pub fn lookup_failure(e: &ProviderError) -> String {
    match e {
        ProviderError::NotFound { .. } => {
            "The provider has no information about this number.".into()
        }
        ProviderError::Rejected { code, .. } => match code {
            Some(c) => format!("The provider refused to look this number up (error {c})."),
            None => "The provider refused to look this number up.".into(),
        },
        ProviderError::RateLimited { .. } => {
            "The provider is rate limiting lookups right now.".into()
        }
        ProviderError::Timeout => "The provider did not answer in time.".into(),
        ProviderError::Server { status, .. } => {
            format!("The provider failed (HTTP {status}).")
        }
        ProviderError::Network(_) => "PhoneHub could not reach the provider.".into(),
        ProviderError::Decode(_) => "The provider sent an answer PhoneHub could not read.".into(),
        ProviderError::Auth { .. } => "The provider rejected the credentials.".into(),
        ProviderError::Unsupported { .. } => "This provider cannot look numbers up.".into(),
    }
}

/// What the person who asked reads when a lookup gives no answer (the bulk results too).
pub fn lookup_sentence(e: &LookupError) -> String {
    match e {
        LookupError::NoConfig => "No phone provider is configured for this org. An org admin can set one up under Phone config.".into(),
        LookupError::Disabled => "Lookups are turned off in this org's phone config.".into(),
        LookupError::CallerNameOff => "Caller-name lookups are turned off in this org's phone config. An org admin can turn them on under Phone config.".into(),
        LookupError::Credentials => "The phone provider rejected this org's credentials. An org admin should check Phone config.".into(),
        LookupError::Unusable(b) => build(b),
        LookupError::Refused(p) | LookupError::Failed(p) => lookup_failure(p),
        LookupError::BackingOff { message, until } => format!(
            "{message} PhoneHub will not ask the provider about this number again until {}.",
            utc_minute(*until)
        ),
        LookupError::BadNumber(p) => p.to_string(),
        LookupError::Busy | LookupError::LostLease => {
            "The provider is still looking this number up. Try again in a minute.".into()
        }
        LookupError::Db(_) => "PhoneHub could not reach its database. Try again in a moment.".into(),
        LookupError::Guard(GuardError::Capped(b)) => capped(b),
        LookupError::Guard(GuardError::Db(_)) => {
            "PhoneHub could not reach its database. Try again in a moment.".into()
        }
    }
}

pub fn lookup(e: &LookupError) -> AppError {
    match e {
        // Unreachable: an outage (logged once where it is noticed), not this lookup's fault.
        LookupError::Db(d) if crate::ssr::outage::unreachable(d) => {
            tracing::debug!(error = %d, "lookup failed: database unreachable");
            AppError::Unavailable
        }
        LookupError::Db(d) => {
            tracing::error!(error = %d, "lookup failed on the database");
            AppError::Unavailable
        }
        LookupError::Guard(g) => guard(g),
        LookupError::NoConfig | LookupError::Disabled => AppError::Conflict(lookup_sentence(e)),
        LookupError::Busy | LookupError::LostLease => AppError::TooManyRequests(lookup_sentence(e)),
        LookupError::BadNumber(_) => AppError::validation("number", lookup_sentence(e)),
        LookupError::CallerNameOff => AppError::validation("caller_name", lookup_sentence(e)),
        _ => AppError::Upstream(lookup_sentence(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: u32) -> ProviderError {
        ProviderError::Rejected {
            status: 400,
            code: Some(code),
            message: "no".into(),
            more_info: None,
        }
    }

    #[test]
    fn refused_destinations_say_why_and_who_can_change_it() {
        let blocked = Refusal::Blocked {
            shown: "+90 900".into(),
            kind: "premium".into(),
        };
        assert_eq!(
            refusal(&blocked),
            "+90 900… is a premium-rate number, blocked for this org."
        );
        let country = Refusal::Country {
            channel: Channel::Sms,
            country: Some("DE".into()),
            cc: 49,
        };
        assert_eq!(
            refusal(&country),
            "Texts to Germany are not allowed in this org: an owner or admin can allow it under Admin → Destinations."
        );
        let price = Refusal::Price {
            channel: Channel::Sms,
            micros: 80_000,
            max_micros: 50_000,
        };
        assert!(refusal(&price).starts_with(
            "This message would cost $0.08, over the org's maximum of $0.05 per message."
        ));
        assert_eq!(destination(&DestinationError::Refused(price)).status(), 403);
        let (title, _) = paused_notice(
            ("Acme", "acme"),
            Channel::Sms,
            &DestKey::Prefix("+447400".into()),
            30,
            &url::Url::parse("https://phonehub.example/").unwrap(),
        );
        assert_eq!(title, "Acme: texts to +447400… paused after 30 in an hour");
    }

    #[test]
    fn refusals_are_worded_for_the_field_a_person_can_fix() {
        assert_eq!(
            sms(&SmsError::Provider(rejected(21610)))
                .field_message("to")
                .as_deref(),
            Some("This recipient has opted out of messages from this number.")
        );
        assert_eq!(
            call(&CallError::Provider(rejected(21214)))
                .field_message("to")
                .as_deref(),
            Some("The provider cannot call this number.")
        );
        // A purchase has no field left to fix: "no numbers" becomes a conflict.
        assert_eq!(
            number(&NumberError::PurchaseRefused(rejected(21452))),
            AppError::Conflict("No numbers match these filters — try fewer filters.".into())
        );
        assert_eq!(
            number(&NumberError::Search {
                source: rejected(21452),
                area_code: "415".into()
            })
            .field_message("area_code")
            .as_deref(),
            Some("No numbers available in area code 415 — try a nearby area code.")
        );
        assert_eq!(
            limit(&LimitError::Reached {
                what: Limited::Call,
                limit: 2
            }),
            AppError::TooManyRequests(
                "You can place at most 2 calls an hour. Try again later.".into()
            )
        );
    }
}
