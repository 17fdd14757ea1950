//! A number's call route: its steps, the checks it must pass, and the path a call takes.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The most steps one route holds.
pub const MAX_STEPS: usize = 30;
/// The most steps one call passes through, step 0 included (callers give up long before).
pub const MAX_DEPTH: usize = 8;
/// The most phones one ring group rings: Twilio dials at most ten `<Number>`s in one `<Dial>`.
pub const MAX_PHONES: usize = 10;
/// One option per key, 1 to 9: a menu listens for a single key.
pub const MAX_OPTIONS: usize = 9;
/// The longest spoken greeting, in characters.
pub const MAX_SAY_CHARS: usize = 500;
/// How long a phone rings, in seconds: shorter rarely reaches anyone; longer, callers give up.
pub const MIN_SECONDS: u16 = 5;
pub const MAX_SECONDS: u16 = 60;
/// The most windows in one business-hours step: two a day, for a lunch break.
pub const MAX_WINDOWS: usize = 14;
/// Minute 1440: midnight at the end of a day, allowed as the end of a window.
pub const END_OF_DAY: u16 = 1440;
/// The most visits [`Route::walk`] reports: a route saved with a loop still ends.
pub const MAX_VISITS: usize = MAX_DEPTH + MAX_STEPS;

/// A number's route: step 0 is where a call starts; a step's index is its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub steps: Vec<Step>,
}

/// One step of a route. Steps name the steps that follow them by index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Business hours: `open` inside a window, `closed` outside one or on an org holiday (when
    /// `holidays_closed`).
    Hours {
        windows: Vec<Window>,
        holidays_closed: bool,
        open: usize,
        closed: usize,
    },
    /// A ring group: every phone at once, or one after another for `seconds` each.
    Ring {
        phones: Vec<String>,
        sequential: bool,
        seconds: u16,
        no_answer: usize,
    },
    /// A keypad menu: one key chooses an option; no key, or one not listed, goes to `fallback`.
    Menu {
        greeting: Greeting,
        options: Vec<MenuOption>,
        fallback: usize,
    },
    /// Forwards the call to one phone.
    Forward {
        to: String,
        seconds: u16,
        no_answer: usize,
    },
    /// Takes a message; the call ends here.
    Voicemail { greeting: Greeting },
    /// Ends the call, after an optional message.
    Hangup { message: Option<Greeting> },
}

/// Open hours on some days: `days` 0 = Monday … 6 = Sunday; from minute `start` of the day up
/// to, not including, minute `end` (1440: midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub days: Vec<u8>,
    pub start: u16,
    pub end: u16,
}

/// Key `digit` (1–9) goes to step `step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuOption {
    pub digit: u8,
    pub step: usize,
}

/// What a caller hears: text spoken in the org's language, or an audio file uploaded to PhoneHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Greeting {
    Say { text: String },
    Audio { file_id: i64 },
}

/// When a call arrives, in the org's time zone: 0 = Monday; minute of the day; whether the
/// day is one of the org's holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub weekday: u8,
    pub minute: u16,
    pub holiday: bool,
}

/// What a caller does: the key pressed at each menu in turn (None: no key), and whether a phone
/// answers when rung.
pub struct Caller<'a> {
    pub digits: &'a [Option<u8>],
    pub answers: &'a dyn Fn(&str) -> bool,
}

/// What happened at one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Open,
    Closed,
    Holiday,
    Pressed(u8),
    NoInput,
    WrongDigit(u8),
    Answered(String),
    NoAnswer,
    Voicemail,
    HungUp,
}

/// One step a call passed through. `kind` is the step's JSON `kind` ("menu", …), kept so a
/// recorded path still reads right after the route is edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub step: usize,
    pub kind: String,
    pub outcome: Outcome,
}

/// The path as recorded on a call: the same visits the preview shows.
pub type RecordedVisit = Visit;

/// What a step did with a call, and the step it goes to next (None: the call ends there).
type Handled = (Outcome, Option<usize>);

impl Step {
    /// The step's `kind` as the JSON spells it.
    pub fn tag(&self) -> &'static str {
        match self {
            Step::Hours { .. } => "hours",
            Step::Ring { .. } => "ring",
            Step::Menu { .. } => "menu",
            Step::Forward { .. } => "forward",
            Step::Voicemail { .. } => "voicemail",
            Step::Hangup { .. } => "hangup",
        }
    }

    /// The steps this one leads to, each with the form field (after `steps.{i}.`) naming it.
    fn links(&self) -> Vec<(String, usize)> {
        match self {
            Step::Hours { open, closed, .. } => {
                vec![("open".into(), *open), ("closed".into(), *closed)]
            }
            Step::Ring { no_answer, .. } | Step::Forward { no_answer, .. } => {
                vec![("no_answer".into(), *no_answer)]
            }
            Step::Menu {
                options, fallback, ..
            } => options
                .iter()
                .enumerate()
                .map(|(k, o)| (format!("options.{k}.step"), o.step))
                .chain([("fallback".to_string(), *fallback)])
                .collect(),
            Step::Voicemail { .. } | Step::Hangup { .. } => Vec::new(),
        }
    }

    /// What this step does with the call; `presses` yields the caller's key at each menu in turn.
    fn handle<'d>(
        &self,
        at: &Moment,
        caller: &Caller<'_>,
        presses: &mut impl Iterator<Item = &'d Option<u8>>,
    ) -> Handled {
        match self {
            Step::Hours {
                windows,
                holidays_closed,
                open,
                closed,
            } => match (
                *holidays_closed && at.holiday,
                windows.iter().any(|w| w.is_open(at)),
            ) {
                (true, _) => (Outcome::Holiday, Some(*closed)),
                (false, true) => (Outcome::Open, Some(*open)),
                (false, false) => (Outcome::Closed, Some(*closed)),
            },
            Step::Ring {
                phones, no_answer, ..
            } => first_to_answer(phones, caller, *no_answer),
            Step::Forward { to, no_answer, .. } => {
                first_to_answer(std::slice::from_ref(to), caller, *no_answer)
            }
            Step::Menu {
                options, fallback, ..
            } => match presses.next().copied().flatten() {
                None => (Outcome::NoInput, Some(*fallback)),
                Some(d) => match options.iter().find(|o| o.digit == d) {
                    Some(o) => (Outcome::Pressed(d), Some(o.step)),
                    None => (Outcome::WrongDigit(d), Some(*fallback)),
                },
            },
            Step::Voicemail { .. } => (Outcome::Voicemail, None),
            Step::Hangup { .. } => (Outcome::HungUp, None),
        }
    }
}

/// Rung at once, the quickest phone wins, which a preview cannot know; it takes the first listed
/// phone that answers, the one a ring in turn reaches first.
fn first_to_answer(phones: &[String], caller: &Caller<'_>, no_answer: usize) -> Handled {
    match phones.iter().find(|p| (caller.answers)(p)) {
        Some(p) => (Outcome::Answered(p.clone()), None),
        None => (Outcome::NoAnswer, Some(no_answer)),
    }
}

impl Window {
    /// Whether the window holds moment `at` (its end minute is outside it).
    pub fn is_open(&self, at: &Moment) -> bool {
        self.days.contains(&at.weekday) && (self.start..self.end).contains(&at.minute)
    }
}

/// "Business hours", "Ring group", … for a step's kind.
pub fn kind_label(step: &Step) -> &'static str {
    label_of(step.tag())
}

fn label_of(tag: &str) -> &'static str {
    match tag {
        "hours" => "Business hours",
        "ring" => "Ring group",
        "menu" => "Menu",
        "forward" => "Forward",
        "voicemail" => "Voicemail",
        "hangup" => "Hang up",
        _ => "Step",
    }
}

/// The steps `step` can lead to, in form order (a menu's options, then its fallback).
pub fn next_steps(step: &Step) -> Vec<usize> {
    step.links().into_iter().map(|(_, to)| to).collect()
}

/// A step in the loop check: unseen, on the path explored, or done with its longest path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unseen,
    OnPath,
    Done(usize),
}

impl Route {
    /// The first thing wrong with the route, on the form field that shows it
    /// (`steps.{i}.{field}`); steps are numbered from 1 in messages, from 0 in fields.
    pub fn validate(&self) -> Result<(), AppError> {
        let count = self.steps.len();
        if count == 0 {
            return invalid("steps", "Add at least one step.");
        }
        if count > MAX_STEPS {
            let message = format!("A route has at most {MAX_STEPS} steps; this one has {count}.");
            return invalid("steps", message);
        }
        for (i, step) in self.steps.iter().enumerate() {
            check_step(i, step, count)?;
        }
        let mut marks = vec![Mark::Unseen; count];
        self.explore(0, 1, &mut marks)?;
        let Some(i) = marks.iter().position(|m| *m == Mark::Unseen) else {
            return Ok(());
        };
        let n = i + 1;
        let message =
            format!("Step {n} is not reached from the first step; connect it or remove it.");
        invalid(&format!("steps.{i}.kind"), message)
    }

    /// Depth-first from `at`, the `position`th step on the way from step 0: the longest path
    /// from `at`, in steps, or the first reference (in form order) that closes a loop or takes
    /// some call past `MAX_DEPTH` steps.
    fn explore(&self, at: usize, position: usize, marks: &mut [Mark]) -> Result<usize, AppError> {
        // `validate` has checked every reference and sized `marks` to the steps.
        let Some(step) = self.steps.get(at) else {
            return Ok(0);
        };
        marks[at] = Mark::OnPath;
        let mut tallest = 0;
        for (name, to) in step.links() {
            let field = format!("steps.{at}.{name}");
            let height = match marks.get(to).copied() {
                Some(Mark::OnPath) => {
                    let n = to + 1;
                    let message =
                        format!("Step {n} leads here, so this makes a loop; choose a later step.");
                    return invalid(&field, message);
                }
                Some(Mark::Done(h)) => h,
                Some(Mark::Unseen) if position < MAX_DEPTH => {
                    self.explore(to, position + 1, marks)?
                }
                // One step more is already too many.
                Some(Mark::Unseen) => MAX_DEPTH,
                None => 0,
            };
            if position + height > MAX_DEPTH {
                let message = format!(
                    "Calls going this way pass through more than {MAX_DEPTH} steps; send them \
                     to a step that ends the call sooner."
                );
                return invalid(&field, message);
            }
            tallest = tallest.max(height);
        }
        marks[at] = Mark::Done(tallest + 1);
        Ok(tallest + 1)
    }

    /// The steps a call takes at moment `at` with a caller who behaves as `caller` says, from
    /// step 0 until a step ends the call, a reference points nowhere, or `MAX_VISITS`.
    pub fn walk(&self, at: &Moment, caller: &Caller<'_>) -> Vec<Visit> {
        let mut visits = Vec::new();
        let mut presses = caller.digits.iter();
        let mut here = 0;
        while let Some(step) = self.steps.get(here).filter(|_| visits.len() < MAX_VISITS) {
            let (outcome, next) = step.handle(at, caller, &mut presses);
            visits.push(Visit {
                step: here,
                kind: step.tag().to_string(),
                outcome,
            });
            match next {
                Some(n) => here = n,
                None => break,
            }
        }
        visits
    }
}

/// The error for a bad value in form field `field`.
fn invalid<T>(field: &str, message: impl Into<String>) -> Result<T, AppError> {
    Err(AppError::validation(field, message))
}

fn check_step(i: usize, step: &Step, count: usize) -> Result<(), AppError> {
    let field = |name: &str| format!("steps.{i}.{name}");
    match step {
        Step::Hours { windows, .. } => check_windows(&field("windows"), windows)?,
        Step::Ring {
            phones, seconds, ..
        } => {
            check_phones(&field("phones"), phones)?;
            check_seconds(&field("seconds"), *seconds)?;
        }
        Step::Menu {
            greeting, options, ..
        } => {
            check_greeting(&field("greeting"), greeting)?;
            check_options(&field("options"), options)?;
        }
        Step::Forward { to, seconds, .. } => {
            if !looks_like_e164(to) {
                return invalid(&field("to"), format!("Enter the phone number {LIKE}."));
            }
            check_seconds(&field("seconds"), *seconds)?;
        }
        Step::Voicemail { greeting } => check_greeting(&field("greeting"), greeting)?,
        Step::Hangup { message: Some(m) } => check_greeting(&field("message"), m)?,
        Step::Hangup { message: None } => {}
    }
    for (name, to) in step.links() {
        if to >= count {
            let message = format!("There is no step {}; choose one from 1 to {count}.", to + 1);
            return invalid(&field(&name), message);
        }
        if to == i {
            let message = format!("Step {} cannot lead back to itself.", i + 1);
            return invalid(&field(&name), message);
        }
    }
    Ok(())
}

const LIKE: &str = "in international format, like +14155550100";

/// Day 0 to day 6.
const WEEK: &str = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday";

fn check_windows(field: &str, windows: &[Window]) -> Result<(), AppError> {
    if windows.is_empty() {
        return invalid(field, "Add the hours when calls count as open.");
    }
    if windows.len() > MAX_WINDOWS {
        return invalid(field, format!("Use at most {MAX_WINDOWS} windows."));
    }
    for (w, window) in windows.iter().enumerate() {
        let days = format!("{field}.{w}.days");
        if window.days.is_empty() {
            return invalid(&days, "Choose at least one day.");
        }
        for (k, day) in window.days.iter().enumerate() {
            let Some(name) = WEEK.split(' ').nth(usize::from(*day)) else {
                return invalid(&days, "Choose days from Monday to Sunday.");
            };
            if window.days[..k].contains(day) {
                return invalid(&days, format!("{name} is chosen twice."));
            }
        }
        let end = format!("{field}.{w}.end");
        if window.end > END_OF_DAY {
            return invalid(&end, "A window ends by 24:00.");
        }
        if window.start >= window.end {
            return invalid(
                &end,
                "A window ends after it starts; for hours past midnight, add a window on the \
                 next day.",
            );
        }
    }
    Ok(())
}

fn check_phones(field: &str, phones: &[String]) -> Result<(), AppError> {
    if phones.is_empty() {
        return invalid(field, "Add at least one phone to ring.");
    }
    if phones.len() > MAX_PHONES {
        return invalid(field, format!("Ring at most {MAX_PHONES} phones."));
    }
    for (k, phone) in phones.iter().enumerate() {
        if !looks_like_e164(phone) {
            return invalid(field, format!("Phone {} is not {LIKE}.", k + 1));
        }
        if phones[..k].contains(phone) {
            return invalid(field, format!("{phone} is listed twice."));
        }
    }
    Ok(())
}

/// `+`, then 8 to 15 digits, the first not 0: the shape of an E.164 number. The server parses
/// each again with the real `E164` type before dialling.
fn looks_like_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn check_seconds(field: &str, seconds: u16) -> Result<(), AppError> {
    if (MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return Ok(());
    }
    invalid(
        field,
        format!("Ring for {MIN_SECONDS} to {MAX_SECONDS} seconds."),
    )
}

fn check_greeting(field: &str, greeting: &Greeting) -> Result<(), AppError> {
    match greeting {
        Greeting::Say { text } if text.trim().is_empty() => invalid(field, "Enter a greeting."),
        Greeting::Say { text } if text.chars().count() > MAX_SAY_CHARS => {
            let count = text.chars().count();
            invalid(
                field,
                format!("Keep it to {MAX_SAY_CHARS} characters; this is {count}."),
            )
        }
        Greeting::Audio { file_id } if *file_id <= 0 => invalid(field, "Choose an audio file."),
        Greeting::Say { .. } | Greeting::Audio { .. } => Ok(()),
    }
}

fn check_options(field: &str, options: &[MenuOption]) -> Result<(), AppError> {
    if options.is_empty() {
        return invalid(field, "Add at least one option.");
    }
    if options.len() > MAX_OPTIONS {
        return invalid(
            field,
            format!("Offer at most {MAX_OPTIONS} options, one per key."),
        );
    }
    for (k, option) in options.iter().enumerate() {
        let digit = format!("{field}.{k}.digit");
        if !(1..=9).contains(&option.digit) {
            return invalid(&digit, "Choose a key from 1 to 9.");
        }
        if let Some(first) = options[..k].iter().position(|o| o.digit == option.digit) {
            let message = format!("Key {} already chooses option {}.", option.digit, first + 1);
            return invalid(&digit, message);
        }
    }
    Ok(())
}

/// A short sentence for one visit, for the route preview and the call page:
/// "Step 2 · Menu: pressed 1", "Step 3 · Ring 2 phones at once: answered by +14155550100".
pub fn describe(visit: &Visit, route: &Route) -> String {
    // The route may have changed since a call was recorded: details come from it only while
    // the step there is still of the kind the call met.
    let step = route
        .steps
        .get(visit.step)
        .filter(|s| s.tag() == visit.kind);
    let what = match step {
        Some(Step::Ring {
            phones, sequential, ..
        }) => match (phones.len(), sequential) {
            (1, _) => "Ring 1 phone".to_string(),
            (n, true) => format!("Ring {n} phones in turn"),
            (n, false) => format!("Ring {n} phones at once"),
        },
        Some(Step::Forward { to, .. }) => format!("Forward to {to}"),
        _ => label_of(&visit.kind).to_string(),
    };
    let outcome = match &visit.outcome {
        Outcome::Open => ": open".to_string(),
        Outcome::Closed => ": closed".to_string(),
        Outcome::Holiday => ": closed for a holiday".to_string(),
        Outcome::Pressed(d) => format!(": pressed {d}"),
        Outcome::NoInput => ": no key pressed".to_string(),
        Outcome::WrongDigit(d) => format!(": pressed {d}, which is not an option"),
        Outcome::Answered(phone) => format!(": answered by {phone}"),
        Outcome::NoAnswer => ": no answer".to_string(),
        Outcome::Voicemail | Outcome::HungUp => String::new(),
    };
    format!("Step {} · {what}{outcome}", visit.step + 1)
}

/// A route to start from: open Monday to Friday 9:00–17:00 (closed on holidays) with a menu
/// (1: ring both `phones` at once; 2: forward to the second), voicemail when nobody answers or
/// no key is pressed, and a "we are closed" voicemail outside hours.
pub fn example(phones: [&str; 2]) -> Route {
    let say = |text: &str| Greeting::Say {
        text: text.to_string(),
    };
    Route {
        steps: vec![
            Step::Hours {
                windows: vec![Window {
                    days: vec![0, 1, 2, 3, 4],
                    start: 9 * 60,
                    end: 17 * 60,
                }],
                holidays_closed: true,
                open: 1,
                closed: 5,
            },
            Step::Menu {
                greeting: say("Press 1 for sales, 2 for support."),
                options: vec![
                    MenuOption { digit: 1, step: 2 },
                    MenuOption { digit: 2, step: 3 },
                ],
                fallback: 4,
            },
            Step::Ring {
                phones: phones.iter().map(|p| p.to_string()).collect(),
                sequential: false,
                seconds: 20,
                no_answer: 4,
            },
            Step::Forward {
                to: phones[1].to_string(),
                seconds: 20,
                no_answer: 4,
            },
            Step::Voicemail {
                greeting: say("Nobody can take your call. Please leave a message after the tone."),
            },
            Step::Voicemail {
                greeting: say("We are closed. Please leave a message after the tone."),
            },
        ],
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
