//! Helpers shared by the dialplan tests. Each test binary uses a different
//! subset, hence the allowance for unused items.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use switchboard::dialplan::{
    parse_and_validate, Action, CallInfo, Dialplan, DialplanError, PromptCatalog, Session,
    TimelineEntry, TimelineKind, Timestamp,
};

/// A catalog holding exactly the listed (language, prompt) pairs.
#[derive(Default)]
pub struct Catalog {
    pairs: BTreeSet<(String, String)>,
}

impl Catalog {
    pub fn with(languages: &[&str], names: &[String]) -> Self {
        let mut pairs = BTreeSet::new();
        for language in languages {
            for name in names {
                pairs.insert((language.to_string(), name.clone()));
            }
        }
        Catalog { pairs }
    }

    pub fn remove(&mut self, language: &str, name: &str) {
        self.pairs.remove(&(language.to_string(), name.to_string()));
    }
}

impl PromptCatalog for Catalog {
    fn has_prompt(&self, language: &str, name: &str) -> bool {
        self.pairs
            .contains(&(language.to_string(), name.to_string()))
    }
}

/// A catalog that has every prompt, for tests about behaviour.
pub struct EveryPrompt;

impl PromptCatalog for EveryPrompt {
    fn has_prompt(&self, _language: &str, _name: &str) -> bool {
        true
    }
}

/// The prompt names the demo hotline ships with.
pub fn hotline_prompt_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "welcome",
        "language_menu",
        "main_menu",
        "invalid",
        "no_input",
        "hours_from",
        "hours_am_to",
        "hours_pm",
        "office_open",
        "office_closed",
        "report_intro",
        "beep",
        "report_thanks",
        "account_prompt",
        "account_invalid",
        "account_balance",
        "dollars",
        "lookup_failed",
        "transfer_wait",
        "agents_unavailable",
        "voicemail_intro",
        "callback_confirm",
        "survey",
        "survey_invalid",
        "survey_thanks",
        "goodbye",
        "digit_star",
        "digit_pound",
        "num_hundred_prefix",
        "num_and",
        "num_thousand",
    ]
    .iter()
    .map(|name| name.to_string())
    .collect();
    names.extend((0..=9).map(|digit| format!("digit_{digit}")));
    names.extend((0..=29).map(|number| format!("num_{number}")));
    names.extend((3..=9).map(|tens| format!("num_{}", tens * 10)));
    names.extend((1..=9).map(|hundreds| format!("num_{}", hundreds * 100)));
    names
}

pub fn hotline_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dialplans/hotline.toml");
    std::fs::read_to_string(path).expect("dialplans/hotline.toml is readable")
}

pub fn hotline() -> Arc<Dialplan> {
    let catalog = Catalog::with(&["en", "es"], &hotline_prompt_names());
    match parse_and_validate("dialplans/hotline.toml", &hotline_text(), &catalog) {
        Ok(plan) => Arc::new(plan),
        Err(errors) => panic!("hotline is invalid: {errors:#?}"),
    }
}

/// Parses a plan that must be valid (every prompt exists).
pub fn plan(text: &str) -> Arc<Dialplan> {
    match parse_and_validate("test.toml", text, &EveryPrompt) {
        Ok(plan) => Arc::new(plan),
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("plan is invalid:\n{}", lines.join("\n"))
        }
    }
}

/// Parses a plan that must be invalid and returns its errors.
pub fn errors(text: &str) -> Vec<DialplanError> {
    match parse_and_validate("dialplans/demo.toml", text, &EveryPrompt) {
        Ok(_) => panic!("plan was accepted but should not be"),
        Err(errors) => errors,
    }
}

/// Asserts that one error is about `node` and its reason contains `reason`.
pub fn assert_error(errors: &[DialplanError], node: Option<&str>, reason: &str) {
    let found = errors.iter().any(|error| {
        error.file == "dialplans/demo.toml"
            && error.node.as_deref() == node
            && error.reason.contains(reason)
    });
    assert!(
        found,
        "no error for node {node:?} containing {reason:?}; got:\n{}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A Monday afternoon in winter (America/New_York is UTC-5): 2026-03-02 10:00 local.
pub fn monday_morning_new_york() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0)
        .single()
        .expect("valid time")
}

pub fn seconds(amount: i64) -> Duration {
    Duration::seconds(amount)
}

pub fn call_info() -> CallInfo {
    CallInfo {
        call_id: "call-1".to_string(),
        caller: "+15551234567".to_string(),
        called: "+18005550100".to_string(),
        reference: "4207".to_string(),
    }
}

/// A session together with a fake clock the test moves by hand.
pub struct Call {
    pub session: Session,
    pub now: Timestamp,
}

impl Call {
    pub fn start(plan: Arc<Dialplan>) -> (Call, Vec<Action>) {
        Call::start_at(plan, call_info(), monday_morning_new_york())
    }

    pub fn start_at(plan: Arc<Dialplan>, info: CallInfo, now: Timestamp) -> (Call, Vec<Action>) {
        let session = Session::new(plan, info, now);
        let mut call = Call { session, now };
        let actions = call.drain();
        (call, actions)
    }

    pub fn drain(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        while let Some(action) = self.session.poll_action() {
            actions.push(action);
        }
        actions
    }

    pub fn send(&mut self, event: switchboard::dialplan::Event) -> Vec<Action> {
        self.now += seconds(1);
        self.session.handle_event(event, self.now);
        self.drain()
    }

    pub fn finish_playback(&mut self) -> Vec<Action> {
        self.send(switchboard::dialplan::Event::PlaybackFinished)
    }

    pub fn press(&mut self, keys: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.extend(self.send(switchboard::dialplan::Event::Digit(key)));
        }
        actions
    }

    /// Jumps the clock to the pending deadline and fires it.
    pub fn expire(&mut self) -> Vec<Action> {
        let deadline = self.session.poll_timeout().expect("a deadline is pending");
        self.now = deadline;
        self.session.handle_timeout(self.now);
        self.drain()
    }
}

/// The actions that are not log entries.
pub fn effects(actions: &[Action]) -> Vec<Action> {
    actions
        .iter()
        .filter(|action| !matches!(action, Action::Log(_)))
        .cloned()
        .collect()
}

pub fn logs(actions: &[Action]) -> Vec<TimelineEntry> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Log(entry) => Some(entry.clone()),
            _ => None,
        })
        .collect()
}

pub fn has_log(actions: &[Action], kind: TimelineKind) -> bool {
    logs(actions).iter().any(|entry| entry.kind == kind)
}

/// The prompt names of every Play action, flattened.
pub fn played(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Play { prompts } => Some(prompts.iter().map(|prompt| prompt.name.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The languages of every prompt played.
pub fn played_languages(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Play { prompts } => Some(prompts.iter().map(|prompt| prompt.language.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}
