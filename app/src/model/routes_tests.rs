//! Tests of call routes: the checks (each on its form field), the path a call takes, the JSON.

use super::*;

const SALES: &str = "+14155550100";
const SUPPORT: &str = "+14155550101";

fn example_route() -> Route {
    example([SALES, SUPPORT])
}

/// The form field of the route's first error.
fn broken_field(route: &Route) -> String {
    match route.validate() {
        Err(AppError::Validation { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// The example with one change.
fn changed(change: impl FnOnce(&mut Vec<Step>)) -> Route {
    let mut route = example_route();
    change(&mut route.steps);
    route
}

fn say(text: &str) -> Greeting {
    Greeting::Say {
        text: text.to_string(),
    }
}

fn forward(no_answer: usize) -> Step {
    Step::Forward {
        to: SUPPORT.to_string(),
        seconds: 20,
        no_answer,
    }
}

fn voicemail() -> Step {
    Step::Voicemail {
        greeting: say("Leave a message."),
    }
}

fn visit(step: usize, kind: &str, outcome: Outcome) -> Visit {
    Visit {
        step,
        kind: kind.to_string(),
        outcome,
    }
}

const TUESDAY_10: Moment = Moment {
    weekday: 1,
    minute: 600,
    holiday: false,
};

#[test]
fn the_example_route_passes_its_checks() {
    assert_eq!(example_route().validate(), Ok(()));
}

#[test]
fn an_empty_or_oversized_route_is_refused_as_a_whole() {
    assert_eq!(broken_field(&Route { steps: vec![] }), "steps");
    let mut steps: Vec<Step> = (1..MAX_STEPS + 1).map(forward).collect();
    steps.push(voicemail());
    assert_eq!(broken_field(&Route { steps }), "steps");
}

#[test]
fn ring_groups_need_distinct_international_phones_and_a_sane_ring_time() {
    let with_phones = |phones: &[&str]| {
        changed(|s| {
            if let Step::Ring { phones: p, .. } = &mut s[2] {
                *p = phones.iter().map(|x| x.to_string()).collect();
            }
        })
    };
    for bad in [
        &[][..],
        &["4155550100"],
        &["+0155550100"],
        &["+1415555"],
        &["+1234567890123456"],
        &["+1415555010a"],
        &[SALES, SALES],
        &[" +14155550100"],
    ] {
        assert_eq!(broken_field(&with_phones(bad)), "steps.2.phones", "{bad:?}");
    }
    let eleven: Vec<String> = (0..11).map(|k| format!("+1415555010{k}")).collect();
    let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
    assert_eq!(broken_field(&with_phones(&eleven)), "steps.2.phones");
    assert_eq!(with_phones(&["+12345678"]).validate(), Ok(()));
    assert_eq!(with_phones(&["+123456789012345"]).validate(), Ok(()));
    let err = with_phones(&[SALES, SUPPORT, SALES])
        .validate()
        .unwrap_err();
    assert_eq!(
        err.field_message("steps.2.phones").as_deref(),
        Some("+14155550100 is listed twice.")
    );
    for seconds in [0, 4, 61] {
        let route = changed(|s| {
            if let Step::Ring { seconds: t, .. } = &mut s[2] {
                *t = seconds;
            }
        });
        assert_eq!(broken_field(&route), "steps.2.seconds");
    }
}

#[test]
fn a_forward_needs_an_international_phone_and_a_step_after_it() {
    let to = |to: &str| {
        changed(|s| {
            s[3] = Step::Forward {
                to: to.into(),
                seconds: 20,
                no_answer: 4,
            }
        })
    };
    assert_eq!(broken_field(&to("555-0100")), "steps.3.to");
    let seconds = changed(|s| {
        s[3] = Step::Forward {
            to: SUPPORT.into(),
            seconds: 90,
            no_answer: 4,
        }
    });
    assert_eq!(broken_field(&seconds), "steps.3.seconds");
    assert_eq!(
        broken_field(&changed(|s| s[3] = forward(9))),
        "steps.3.no_answer"
    );
    let itself = changed(|s| s[3] = forward(3)).validate().unwrap_err();
    assert_eq!(
        itself.field_message("steps.3.no_answer").as_deref(),
        Some("Step 4 cannot lead back to itself.")
    );
}

#[test]
fn menus_need_distinct_keys_one_to_nine_that_lead_somewhere() {
    let with_options = |options: Vec<MenuOption>| {
        changed(|s| {
            if let Step::Menu { options: o, .. } = &mut s[1] {
                *o = options;
            }
        })
    };
    let opt = |digit, step| MenuOption { digit, step };
    assert_eq!(broken_field(&with_options(vec![])), "steps.1.options");
    let ten = (1..=10).map(|d| opt(d, 2)).collect();
    assert_eq!(broken_field(&with_options(ten)), "steps.1.options");
    assert_eq!(
        broken_field(&with_options(vec![opt(0, 2)])),
        "steps.1.options.0.digit"
    );
    assert_eq!(
        broken_field(&with_options(vec![opt(2, 3), opt(10, 2)])),
        "steps.1.options.1.digit"
    );
    let twice = with_options(vec![opt(1, 2), opt(1, 3)])
        .validate()
        .unwrap_err();
    assert_eq!(
        twice.field_message("steps.1.options.1.digit").as_deref(),
        Some("Key 1 already chooses option 1.")
    );
    assert_eq!(
        broken_field(&with_options(vec![opt(1, 99), opt(2, 3)])),
        "steps.1.options.0.step"
    );
    let fallback = changed(|s| {
        if let Step::Menu { fallback, .. } = &mut s[1] {
            *fallback = 1;
        }
    });
    assert_eq!(broken_field(&fallback), "steps.1.fallback");
}

#[test]
fn greetings_are_short_non_blank_text_or_an_uploaded_file() {
    let greet = |g: Greeting| {
        changed(|s| {
            if let Step::Menu { greeting, .. } = &mut s[1] {
                *greeting = g;
            }
        })
    };
    assert_eq!(broken_field(&greet(say(" \n "))), "steps.1.greeting");
    assert_eq!(
        broken_field(&greet(say(&"é".repeat(501)))),
        "steps.1.greeting"
    );
    assert_eq!(greet(say(&"é".repeat(500))).validate(), Ok(()));
    assert_eq!(
        broken_field(&greet(Greeting::Audio { file_id: 0 })),
        "steps.1.greeting"
    );
    assert_eq!(greet(Greeting::Audio { file_id: 7 }).validate(), Ok(()));
    let vm = changed(|s| s[4] = Step::Voicemail { greeting: say("") });
    assert_eq!(broken_field(&vm), "steps.4.greeting");
    let bye = |message| changed(|s| s[5] = Step::Hangup { message });
    assert_eq!(broken_field(&bye(Some(say("")))), "steps.5.message");
    assert_eq!(bye(None).validate(), Ok(()));
}

#[test]
fn business_hours_need_days_and_windows_that_end_after_they_start() {
    let with_windows = |windows: Vec<Window>| {
        changed(|s| {
            if let Step::Hours { windows: w, .. } = &mut s[0] {
                *w = windows;
            }
        })
    };
    let win = |days: &[u8], start, end| Window {
        days: days.to_vec(),
        start,
        end,
    };
    let ok = win(&[0], 540, 1020);
    for (bad, field) in [
        (vec![], "steps.0.windows"),
        (vec![ok.clone(); 15], "steps.0.windows"),
        (vec![win(&[], 540, 1020)], "steps.0.windows.0.days"),
        (vec![win(&[7], 540, 1020)], "steps.0.windows.0.days"),
        (
            vec![ok.clone(), win(&[1, 2, 1], 540, 1020)],
            "steps.0.windows.1.days",
        ),
        (vec![win(&[0], 600, 600)], "steps.0.windows.0.end"),
        (
            vec![ok.clone(), win(&[5], 1020, 540)],
            "steps.0.windows.1.end",
        ),
        (vec![win(&[0], 540, 1441)], "steps.0.windows.0.end"),
    ] {
        assert_eq!(broken_field(&with_windows(bad)), field);
    }
    assert_eq!(with_windows(vec![ok; 14]).validate(), Ok(()));
    assert_eq!(with_windows(vec![win(&[6], 0, 1440)]).validate(), Ok(()));
}

#[test]
fn a_reference_that_closes_a_loop_is_the_error() {
    // Ring's "no answer" goes back to the menu that led to it.
    let looped = changed(|s| {
        if let Step::Ring { no_answer, .. } = &mut s[2] {
            *no_answer = 1;
        }
    });
    let err = looped.validate().unwrap_err();
    assert_eq!(
        err.field_message("steps.2.no_answer").as_deref(),
        Some("Step 2 leads here, so this makes a loop; choose a later step.")
    );
}

#[test]
fn a_path_longer_than_the_limit_is_refused_at_the_step_that_goes_too_far() {
    // Forwards 0 → 1 → … each to the next, then voicemail: MAX_DEPTH steps in all is fine.
    let chain = |forwards: usize| {
        let mut steps: Vec<Step> = (1..=forwards).map(forward).collect();
        steps.push(voicemail());
        Route { steps }
    };
    assert_eq!(chain(MAX_DEPTH - 1).validate(), Ok(()));
    assert_eq!(broken_field(&chain(MAX_DEPTH)), "steps.7.no_answer");
    assert_eq!(broken_field(&chain(MAX_DEPTH + 5)), "steps.7.no_answer");
}

#[test]
fn a_step_nothing_leads_to_is_reported_on_its_kind() {
    let orphan = changed(|s| s.push(voicemail()));
    let err = orphan.validate().unwrap_err();
    assert_eq!(
        err.field_message("steps.6.kind").as_deref(),
        Some("Step 7 is not reached from the first step; connect it or remove it.")
    );
}

#[test]
fn walking_the_example_follows_hours_keys_and_answers() {
    let route = example_route();
    let sales_answers = |p: &str| p == SALES;
    let nobody = |_: &str| false;
    let walk = |at: Moment, digits: &[Option<u8>], answers: &dyn Fn(&str) -> bool| {
        route.walk(&at, &Caller { digits, answers })
    };
    assert_eq!(
        walk(TUESDAY_10, &[Some(1)], &sales_answers),
        vec![
            visit(0, "hours", Outcome::Open),
            visit(1, "menu", Outcome::Pressed(1)),
            visit(2, "ring", Outcome::Answered(SALES.to_string())),
        ]
    );
    assert_eq!(
        walk(TUESDAY_10, &[Some(2)], &nobody),
        vec![
            visit(0, "hours", Outcome::Open),
            visit(1, "menu", Outcome::Pressed(2)),
            visit(3, "forward", Outcome::NoAnswer),
            visit(4, "voicemail", Outcome::Voicemail),
        ]
    );
    assert_eq!(
        walk(TUESDAY_10, &[None], &nobody),
        vec![
            visit(0, "hours", Outcome::Open),
            visit(1, "menu", Outcome::NoInput),
            visit(4, "voicemail", Outcome::Voicemail),
        ]
    );
    let saturday_11 = Moment {
        weekday: 5,
        minute: 660,
        holiday: false,
    };
    assert_eq!(
        walk(saturday_11, &[Some(1)], &sales_answers),
        vec![
            visit(0, "hours", Outcome::Closed),
            visit(5, "voicemail", Outcome::Voicemail),
        ]
    );
    let holiday = Moment {
        holiday: true,
        ..TUESDAY_10
    };
    assert_eq!(
        walk(holiday, &[Some(1)], &sales_answers),
        vec![
            visit(0, "hours", Outcome::Holiday),
            visit(5, "voicemail", Outcome::Voicemail),
        ]
    );
}

#[test]
fn windows_include_their_start_and_exclude_their_end() {
    let route = example_route();
    let caller = Caller {
        digits: &[],
        answers: &|_| false,
    };
    let first = |minute| {
        route.walk(
            &Moment {
                minute,
                ..TUESDAY_10
            },
            &caller,
        )[0]
        .outcome
        .clone()
    };
    assert_eq!(first(539), Outcome::Closed);
    assert_eq!(first(540), Outcome::Open);
    assert_eq!(first(1019), Outcome::Open);
    assert_eq!(first(1020), Outcome::Closed);
}

#[test]
fn a_wrong_key_goes_to_the_fallback_and_a_ring_in_turn_takes_the_first_to_answer() {
    let mut route = example_route();
    if let Step::Ring { sequential, .. } = &mut route.steps[2] {
        *sequential = true;
    }
    let support_answers = |p: &str| p == SUPPORT;
    let wrong = route.walk(
        &TUESDAY_10,
        &Caller {
            digits: &[Some(7)],
            answers: &support_answers,
        },
    );
    assert_eq!(wrong[1], visit(1, "menu", Outcome::WrongDigit(7)));
    assert_eq!(wrong[2], visit(4, "voicemail", Outcome::Voicemail));
    let rung = route.walk(
        &TUESDAY_10,
        &Caller {
            digits: &[Some(1)],
            answers: &support_answers,
        },
    );
    assert_eq!(
        rung[2],
        visit(2, "ring", Outcome::Answered(SUPPORT.to_string()))
    );
}

#[test]
fn a_looping_route_saved_without_checks_still_walks_to_an_end() {
    let looped = Route {
        steps: vec![forward(1), forward(0)],
    };
    assert!(looped.validate().is_err());
    let path = looped.walk(
        &TUESDAY_10,
        &Caller {
            digits: &[],
            answers: &|_| false,
        },
    );
    assert_eq!(path.len(), MAX_VISITS);
    assert_eq!(path[MAX_VISITS - 1], visit(1, "forward", Outcome::NoAnswer));
    // A reference to no step ends the walk there.
    let dangling = Route {
        steps: vec![forward(5)],
    };
    let caller = Caller {
        digits: &[],
        answers: &|_| false,
    };
    assert_eq!(dangling.walk(&TUESDAY_10, &caller).len(), 1);
    assert!(Route { steps: vec![] }
        .walk(&TUESDAY_10, &caller)
        .is_empty());
}

#[test]
fn each_visit_reads_as_a_short_sentence() {
    let route = example_route();
    let lines: Vec<String> = [
        visit(0, "hours", Outcome::Open),
        visit(0, "hours", Outcome::Holiday),
        visit(1, "menu", Outcome::Pressed(1)),
        visit(1, "menu", Outcome::NoInput),
        visit(1, "menu", Outcome::WrongDigit(7)),
        visit(2, "ring", Outcome::Answered(SALES.to_string())),
        visit(3, "forward", Outcome::NoAnswer),
        visit(4, "voicemail", Outcome::Voicemail),
        // The route was edited since: the step is no longer a ring group.
        visit(4, "ring", Outcome::NoAnswer),
        visit(9, "hangup", Outcome::HungUp),
    ]
    .iter()
    .map(|v| describe(v, &route))
    .collect();
    assert_eq!(
        lines,
        [
            "Step 1 · Business hours: open",
            "Step 1 · Business hours: closed for a holiday",
            "Step 2 · Menu: pressed 1",
            "Step 2 · Menu: no key pressed",
            "Step 2 · Menu: pressed 7, which is not an option",
            "Step 3 · Ring 2 phones at once: answered by +14155550100",
            "Step 4 · Forward to +14155550101: no answer",
            "Step 5 · Voicemail",
            "Step 5 · Ring group: no answer",
            "Step 10 · Hang up",
        ]
    );
}

#[test]
fn the_form_helpers_name_kinds_and_follow_references() {
    let route = example_route();
    let labels: Vec<&str> = route.steps.iter().map(kind_label).collect();
    assert_eq!(
        labels,
        [
            "Business hours",
            "Menu",
            "Ring group",
            "Forward",
            "Voicemail",
            "Voicemail"
        ]
    );
    let next: Vec<Vec<usize>> = route.steps.iter().map(next_steps).collect();
    assert_eq!(
        next,
        [vec![1, 5], vec![2, 3, 4], vec![4], vec![4], vec![], vec![]]
    );
    assert_eq!(kind_label(&Step::Hangup { message: None }), "Hang up");
}

#[test]
fn the_json_shape_is_pinned_and_round_trips() {
    let route = example_route();
    let json = serde_json::to_value(&route).unwrap();
    let expected = serde_json::json!({"steps": [
        {"kind": "hours", "windows": [{"days": [0, 1, 2, 3, 4], "start": 540, "end": 1020}],
         "holidays_closed": true, "open": 1, "closed": 5},
        {"kind": "menu", "greeting": {"type": "say", "text": "Press 1 for sales, 2 for support."},
         "options": [{"digit": 1, "step": 2}, {"digit": 2, "step": 3}], "fallback": 4},
        {"kind": "ring", "phones": ["+14155550100", "+14155550101"], "sequential": false,
         "seconds": 20, "no_answer": 4},
        {"kind": "forward", "to": "+14155550101", "seconds": 20, "no_answer": 4},
        {"kind": "voicemail", "greeting": {"type": "say",
         "text": "Nobody can take your call. Please leave a message after the tone."}},
        {"kind": "voicemail", "greeting": {"type": "say",
         "text": "We are closed. Please leave a message after the tone."}},
    ]});
    assert_eq!(json, expected);
    let back: Route = serde_json::from_value(json).unwrap();
    assert_eq!(back, route);

    let end: Step =
        serde_json::from_str(r#"{"kind":"hangup","message":{"type":"audio","file_id":12}}"#)
            .unwrap();
    assert_eq!(
        end,
        Step::Hangup {
            message: Some(Greeting::Audio { file_id: 12 })
        }
    );
    let silent: Step = serde_json::from_str(r#"{"kind":"hangup"}"#).unwrap();
    assert_eq!(silent, Step::Hangup { message: None });
    assert!(serde_json::from_str::<Step>(r#"{"kind":"teleport"}"#).is_err());

    let path = vec![
        visit(1, "menu", Outcome::Pressed(1)),
        visit(2, "ring", Outcome::Answered(SALES.to_string())),
        visit(4, "voicemail", Outcome::Voicemail),
    ];
    let recorded = serde_json::to_string(&path).unwrap();
    assert_eq!(
        recorded,
        r#"[{"step":1,"kind":"menu","outcome":{"pressed":1}},{"step":2,"kind":"ring","outcome":{"answered":"+14155550100"}},{"step":4,"kind":"voicemail","outcome":"voicemail"}]"#
    );
    let back: Vec<RecordedVisit> = serde_json::from_str(&recorded).unwrap();
    assert_eq!(back, path);
}
