//! The call interpreter: pure logic, events in and actions out.
//!
//! A [`Session`] never reads the clock and never performs I/O. The driver
//! feeds it [`Event`]s and the current time, drains [`Action`]s with
//! [`Session::poll_action`] after every call, and calls
//! [`Session::handle_timeout`] once the time reaches
//! [`Session::poll_timeout`]. This keeps every call path testable with
//! made-up timestamps.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use chrono::{Datelike, Duration};

use super::conditions::Facts;
use super::model::Node;
use super::numbers;
use super::plan::Dialplan;
use super::template::{self, Escape};
use super::validate::is_dtmf;

pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The prompt a record node plays before recording when `beep = true`.
pub const BEEP_PROMPT: &str = "beep";

/// Node transitions allowed without any event in between. Validation
/// rejects loops that never wait, but templates and HTTP results can still
/// steer a call in circles, so the runtime guards as well.
pub const MAX_TRANSITIONS_WITHOUT_EVENT: u32 = 1000;

/// Extra time given to the driver beyond the HTTP timeout before the request
/// is treated as failed, so a lost response cannot strand the call.
const HTTP_GRACE_MILLISECONDS: i64 = 1000;

/// Extra time beyond `max_seconds` before a recording is stopped by the
/// interpreter, in case the driver never reports the end.
const RECORDING_SAFETY_SECONDS: i64 = 5;

/// How long to wait for `RecordingFinished` after asking the driver to stop.
const RECORDING_STOP_WAIT_SECONDS: i64 = 5;

/// `now` plus whole seconds. Saturates instead of overflowing, because a
/// far-future deadline is harmless while a panic would drop the call.
fn later(now: Timestamp, seconds: i64) -> Timestamp {
    Duration::try_seconds(seconds)
        .and_then(|duration| now.checked_add_signed(duration))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Facts about the call supplied by the driver when the call starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallInfo {
    pub call_id: String,
    pub caller: String,
    pub called: String,
    /// A reference number the caller can quote later.
    pub reference: String,
}

/// A prompt to play; the driver resolves it to `prompts/<language>/<name>.wav`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptRef {
    pub language: String,
    pub name: String,
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingEndReason {
    Digit,
    Silence,
    MaxLength,
    Hangup,
}

/// Something that happened on the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A DTMF key, at any time.
    Digit(char),
    /// The last `Play` action's prompts all finished (not sent after
    /// `StopPlayback`).
    PlaybackFinished,
    RecordingFinished {
        path: String,
        duration_ms: u64,
        reason: RecordingEndReason,
    },
    /// The top-level fields of the JSON object returned, or an error text.
    HttpResponse(Result<BTreeMap<String, String>, String>),
    TransferResult {
        connected: bool,
        reason: String,
    },
    /// How waiting in an agent queue ended (after `Transfer` to a queue).
    QueueResult(QueueOutcome),
    CallerHangup,
}

/// How a call's time in an agent queue ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueOutcome {
    /// Talked to this agent; the conversation is over.
    Connected { agent: String },
    /// The caller asked to be called back (and keeps its place).
    CallbackRequested,
    /// Waited the queue's longest wait.
    TimedOut,
    /// No agent could take it (none logged in, unknown queue, ...).
    Unavailable(String),
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    Sip(String),
    Queue(String),
}

/// The kind of a timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineKind {
    Node,
    Digit,
    Prompt,
    Variable,
    InputInvalid,
    InputTimeout,
    Http,
    Record,
    Transfer,
    Language,
    Hangup,
}

impl TimelineKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TimelineKind::Node => "node",
            TimelineKind::Digit => "digit",
            TimelineKind::Prompt => "prompt",
            TimelineKind::Variable => "variable",
            TimelineKind::InputInvalid => "input_invalid",
            TimelineKind::InputTimeout => "input_timeout",
            TimelineKind::Http => "http",
            TimelineKind::Record => "record",
            TimelineKind::Transfer => "transfer",
            TimelineKind::Language => "language",
            TimelineKind::Hangup => "hangup",
        }
    }
}

impl fmt::Display for TimelineKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One line of the call log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub kind: TimelineKind,
    /// The node the call was in.
    pub node: String,
    pub detail: String,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play in order, then report `PlaybackFinished`.
    Play {
        prompts: Vec<PromptRef>,
    },
    /// Barge-in: stop the current playback now.
    StopPlayback,
    StartRecording {
        path: String,
        max_seconds: u32,
        silence_seconds: u32,
    },
    /// A stop digit was pressed (or the recording overran its safety deadline).
    StopRecording,
    HttpRequest {
        method: String,
        url: String,
        body: Option<String>,
        timeout_ms: u64,
    },
    Transfer {
        target: TransferTarget,
    },
    Hangup {
        outcome: String,
    },
    Log(TimelineEntry),
}

/// Input collection shared by menu, language and collect nodes.
#[derive(Debug, Clone)]
struct InputState {
    /// The node's prompts are playing (input timeout not yet running).
    playing: bool,
    /// How many times the prompts were repeated after invalid input or a
    /// timeout.
    retries_used: u32,
    /// Digits gathered so far by a collect node.
    collected: String,
}

/// What the session is waiting for in the current node.
#[derive(Debug, Clone)]
enum Phase {
    /// Between nodes; nothing is awaited.
    Idle,
    /// A play or say node's prompts are playing.
    Playing {
        next: String,
        barge_in: bool,
    },
    Input(InputState),
    WaitingForHttp,
    RecordingPrompt,
    Recording {
        path: String,
    },
    RecordingStopping {
        path: String,
    },
    TransferPrompt,
    Transferring,
    HangupPrompt,
    Finished,
}

/// The input settings common to menu, language and collect nodes.
struct InputSettings<'a> {
    prompts: &'a [String],
    barge_in: bool,
    max_retries: u32,
    invalid_prompt: Option<&'a str>,
    timeout_prompt: Option<&'a str>,
    fallback: &'a str,
    first_timeout_secs: u32,
}

fn input_settings(node: &Node) -> Option<InputSettings<'_>> {
    match node {
        Node::Menu(menu) => Some(InputSettings {
            prompts: &menu.prompts,
            barge_in: menu.barge_in,
            max_retries: menu.max_retries,
            invalid_prompt: menu.invalid_prompt.as_deref(),
            timeout_prompt: menu.timeout_prompt.as_deref(),
            fallback: &menu.fallback,
            first_timeout_secs: menu.timeout_secs,
        }),
        Node::Language(menu) => Some(InputSettings {
            prompts: &menu.prompts,
            barge_in: menu.barge_in,
            max_retries: menu.max_retries,
            invalid_prompt: menu.invalid_prompt.as_deref(),
            timeout_prompt: menu.timeout_prompt.as_deref(),
            fallback: menu.fallback.as_deref().unwrap_or(&menu.next),
            first_timeout_secs: menu.timeout_secs,
        }),
        Node::Collect(collect) => Some(InputSettings {
            prompts: &collect.prompts,
            barge_in: collect.barge_in,
            max_retries: collect.max_retries,
            invalid_prompt: collect.invalid_prompt.as_deref(),
            timeout_prompt: collect.timeout_prompt.as_deref(),
            fallback: &collect.fallback,
            first_timeout_secs: collect.first_digit_timeout_secs,
        }),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputFailure {
    Invalid,
    Timeout,
}

/// One call moving through a dialplan.
#[derive(Debug)]
pub struct Session {
    plan: Arc<Dialplan>,
    info: CallInfo,
    variables: BTreeMap<String, String>,
    digits: String,
    path: Vec<String>,
    current: String,
    phase: Phase,
    deadline: Option<Timestamp>,
    actions: VecDeque<Action>,
    outcome: Option<String>,
    transitions_without_event: u32,
}

impl Session {
    /// Starts a call: sets the built-in variables, enters the start node and
    /// queues its actions.
    pub fn new(plan: Arc<Dialplan>, info: CallInfo, now: Timestamp) -> Self {
        Session::with_variables(plan, info, &BTreeMap::new(), now)
    }

    /// As [`Session::new`], with extra starting variables (a campaign lead's
    /// list columns, say). They override the plan's `[variables]`; the
    /// built-in ones (`caller`, `called`, `call_id`, `reference`, `language`)
    /// override them.
    pub fn with_variables(
        plan: Arc<Dialplan>,
        info: CallInfo,
        extra: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Self {
        let mut variables = plan.initial_variables().clone();
        variables.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        variables.insert("caller".to_string(), info.caller.clone());
        variables.insert("called".to_string(), info.called.clone());
        variables.insert("call_id".to_string(), info.call_id.clone());
        variables.insert("reference".to_string(), info.reference.clone());
        variables.insert("language".to_string(), plan.default_language().to_string());
        let start = plan.start().to_string();
        let mut session = Session {
            plan,
            info,
            variables,
            digits: String::new(),
            path: Vec::new(),
            current: start.clone(),
            phase: Phase::Idle,
            deadline: None,
            actions: VecDeque::new(),
            outcome: None,
            transitions_without_event: 0,
        };
        session.go_to(start, now);
        session
    }

    pub fn handle_event(&mut self, event: Event, now: Timestamp) {
        if self.is_finished() {
            return;
        }
        self.transitions_without_event = 0;
        let next = match event {
            Event::Digit(digit) => self.on_digit(digit, now),
            Event::PlaybackFinished => self.on_playback_finished(now),
            Event::RecordingFinished {
                path,
                duration_ms,
                reason,
            } => self.on_recording_finished(path, duration_ms, reason),
            Event::HttpResponse(result) => self.on_http_response(result),
            Event::TransferResult { connected, reason } => {
                self.on_transfer_result(connected, reason)
            }
            Event::QueueResult(outcome) => self.on_queue_result(outcome),
            Event::CallerHangup => {
                self.log(TimelineKind::Hangup, "caller hung up".to_string());
                self.finish("caller_hangup");
                None
            }
        };
        if let Some(target) = next {
            self.go_to(target, now);
        }
    }

    /// Fires the pending deadline if `now` has reached it; does nothing if
    /// called early.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.is_finished() {
            return;
        }
        match self.deadline {
            Some(deadline) if now >= deadline => {}
            _ => return,
        }
        self.deadline = None;
        self.transitions_without_event = 0;
        let next = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Input(input) => self.on_input_timeout(input, now),
            Phase::WaitingForHttp => {
                self.log(TimelineKind::Http, "no response in time".to_string());
                match self.plan.node(&self.current) {
                    Some(Node::Http(http)) => Some(http.on_error.clone()),
                    _ => None,
                }
            }
            Phase::Recording { path } => {
                self.log(
                    TimelineKind::Record,
                    "recording overran its safety deadline; stopping".to_string(),
                );
                self.actions.push_back(Action::StopRecording);
                self.deadline = Some(later(now, RECORDING_STOP_WAIT_SECONDS));
                self.phase = Phase::RecordingStopping { path };
                None
            }
            Phase::RecordingStopping { path } => {
                self.log(
                    TimelineKind::Record,
                    "driver never reported the end of the recording".to_string(),
                );
                self.set_variable("recording_path", path);
                self.set_variable("recording_duration_ms", "0".to_string());
                match self.plan.node(&self.current) {
                    Some(Node::Record(record)) => Some(record.next.clone()),
                    _ => None,
                }
            }
            other => {
                self.phase = other;
                None
            }
        };
        if let Some(target) = next {
            self.go_to(target, now);
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.is_finished() {
            None
        } else {
            self.deadline
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished)
    }

    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }

    /// Every digit the caller pressed, in order, including ignored ones.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The names of the nodes entered, in order.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    pub fn outcome(&self) -> Option<&str> {
        self.outcome.as_deref()
    }

    pub fn current_node(&self) -> &str {
        &self.current
    }

    pub fn call_info(&self) -> &CallInfo {
        &self.info
    }

    pub fn plan(&self) -> &Arc<Dialplan> {
        &self.plan
    }

    // ----- moving between nodes -----

    /// Enters `target` and keeps following nodes that do not wait.
    fn go_to(&mut self, mut target: String, now: Timestamp) {
        loop {
            if self.is_finished() {
                return;
            }
            self.transitions_without_event += 1;
            if self.transitions_without_event > MAX_TRANSITIONS_WITHOUT_EVENT {
                self.log(
                    TimelineKind::Hangup,
                    format!(
                        "more than {MAX_TRANSITIONS_WITHOUT_EVENT} node transitions without caller input"
                    ),
                );
                self.hang_up("dialplan_loop".to_string());
                return;
            }
            match self.enter(target, now) {
                Some(next) => target = next,
                None => return,
            }
        }
    }

    /// Enters one node. Returns the next node when this one does not wait.
    fn enter(&mut self, name: String, now: Timestamp) -> Option<String> {
        self.deadline = None;
        self.phase = Phase::Idle;
        self.current = name.clone();
        self.path.push(name.clone());
        let plan = Arc::clone(&self.plan);
        let Some(node) = plan.node(&name) else {
            // Validation makes this unreachable; end the call cleanly rather
            // than leave the caller in silence.
            self.log(TimelineKind::Node, format!("unknown node '{name}'"));
            self.hang_up("dialplan_error".to_string());
            return None;
        };
        let detail = match node.log_text() {
            Some(text) => format!("{}: {}", node.type_name(), text),
            None => node.type_name().to_string(),
        };
        self.log(TimelineKind::Node, detail);

        match node {
            Node::Play(play) => self.play_then(&play.prompts, &play.next, play.barge_in),
            Node::SayNumber(say) => {
                let value = template::render(&say.value, &self.variables, Escape::None);
                let names = numbers::number_prompts(&value, &self.prompt_language());
                self.play_names_then(names, &say.next)
            }
            Node::SayDigits(say) => {
                let value = template::render(&say.value, &self.variables, Escape::None);
                self.play_names_then(numbers::digit_prompts(&value), &say.next)
            }
            Node::Set(set) => {
                // Every value sees the variables as they were on entry, so
                // the order of keys in the table does not matter.
                let rendered: Vec<(String, String)> = set
                    .variables
                    .iter()
                    .map(|(key, value)| {
                        (
                            key.clone(),
                            template::render(value, &self.variables, Escape::None),
                        )
                    })
                    .collect();
                for (key, value) in rendered {
                    self.set_variable(&key, value);
                }
                Some(set.next.clone())
            }
            Node::Branch(branch) => {
                let target = self.evaluate_branch(&name, now).unwrap_or(&branch.default);
                Some(target.to_string())
            }
            Node::Menu(_) | Node::Language(_) | Node::Collect(_) => {
                self.phase = Phase::Input(InputState {
                    playing: false,
                    retries_used: 0,
                    collected: String::new(),
                });
                self.start_input_prompts(node, None, now);
                None
            }
            Node::Http(http) => {
                let method = http.method.to_ascii_uppercase();
                let url = template::render(&http.url, &self.variables, Escape::Url);
                let body = if method == "POST" {
                    serde_json::to_string(&self.variables).ok()
                } else {
                    None
                };
                self.log(TimelineKind::Http, format!("{method} {url}"));
                self.actions.push_back(Action::HttpRequest {
                    method,
                    url,
                    body,
                    timeout_ms: http.timeout_ms,
                });
                let wait = i64::try_from(http.timeout_ms)
                    .unwrap_or(i64::MAX / 2)
                    .saturating_add(HTTP_GRACE_MILLISECONDS);
                self.deadline = Some(
                    now.checked_add_signed(Duration::milliseconds(wait))
                        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
                );
                self.phase = Phase::WaitingForHttp;
                None
            }
            Node::Record(record) => {
                let mut names = record.prompts.clone();
                if record.beep {
                    names.push(BEEP_PROMPT.to_string());
                }
                if self.play(&names) {
                    self.phase = Phase::RecordingPrompt;
                } else {
                    self.start_recording(now);
                }
                None
            }
            Node::Transfer(transfer) => {
                if self.play(&transfer.prompts) {
                    self.phase = Phase::TransferPrompt;
                } else {
                    self.start_transfer();
                }
                None
            }
            Node::Hangup(hangup) => {
                if self.play(&hangup.prompts) {
                    self.phase = Phase::HangupPrompt;
                } else {
                    self.hang_up(hangup.outcome.clone());
                }
                None
            }
        }
    }

    /// Plays templated prompt names; continues at `next` at once if there is
    /// nothing to play.
    fn play_then(&mut self, names: &[String], next: &str, barge_in: bool) -> Option<String> {
        if self.play(names) {
            self.phase = Phase::Playing {
                next: next.to_string(),
                barge_in,
            };
            None
        } else {
            Some(next.to_string())
        }
    }

    /// Plays already computed prompt names (say nodes).
    fn play_names_then(&mut self, names: Vec<String>, next: &str) -> Option<String> {
        if names.is_empty() {
            return Some(next.to_string());
        }
        self.play_resolved(names);
        self.phase = Phase::Playing {
            next: next.to_string(),
            barge_in: false,
        };
        None
    }

    /// Queues a Play of the templated names; false if there was nothing to
    /// play.
    fn play(&mut self, names: &[String]) -> bool {
        let rendered: Vec<String> = names
            .iter()
            .map(|name| template::render(name, &self.variables, Escape::FileName))
            .filter(|name| !name.is_empty())
            .collect();
        if rendered.is_empty() {
            return false;
        }
        self.play_resolved(rendered);
        true
    }

    fn play_resolved(&mut self, names: Vec<String>) {
        let language = self.prompt_language();
        self.log(TimelineKind::Prompt, names.join(", "));
        let prompts = names
            .into_iter()
            .map(|name| PromptRef {
                language: language.clone(),
                name,
            })
            .collect();
        self.actions.push_back(Action::Play { prompts });
    }

    /// The current language, falling back to the default if a `set` node
    /// stored one the plan has no prompts for.
    fn prompt_language(&self) -> String {
        match self.variables.get("language") {
            Some(language) if self.plan.languages().contains(language) => language.clone(),
            _ => self.plan.default_language().to_string(),
        }
    }

    fn evaluate_branch(&self, name: &str, now: Timestamp) -> Option<&str> {
        let rules = self.plan.rules.get(name)?;
        let local = now.with_timezone(&self.plan.timezone());
        let facts = Facts {
            variables: &self.variables,
            caller: &self.info.caller,
            local_date: local.date_naive(),
            weekday: local.weekday(),
            local_time: local.time(),
            holidays: self.plan.holidays(),
        };
        rules
            .iter()
            .find(|rule| rule.holds(&facts))
            .map(|rule| rule.goto.as_str())
    }

    // ----- menus, language choice and digit collection -----

    /// Plays the node's prompts, preceded by a feedback prompt on retries.
    /// With nothing to play the input timeout starts at once.
    fn start_input_prompts(&mut self, node: &Node, feedback: Option<&str>, now: Timestamp) {
        let Some(settings) = input_settings(node) else {
            return;
        };
        let mut names: Vec<String> = feedback.map(str::to_string).into_iter().collect();
        names.extend(settings.prompts.iter().cloned());
        let playing = self.play(&names);
        if let Phase::Input(input) = &mut self.phase {
            input.playing = playing;
            input.collected.clear();
        }
        self.deadline = if playing {
            None
        } else {
            Some(later(now, settings.first_timeout_secs.into()))
        };
    }

    fn on_input_digit(
        &mut self,
        mut input: InputState,
        digit: char,
        now: Timestamp,
    ) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let node = plan.node(&self.current)?;
        let settings = input_settings(node)?;
        if input.playing {
            if !settings.barge_in {
                self.log(
                    TimelineKind::Digit,
                    format!("'{digit}' ignored: the prompt cannot be interrupted"),
                );
                self.phase = Phase::Input(input);
                return None;
            }
            self.actions.push_back(Action::StopPlayback);
            input.playing = false;
        }
        match node {
            Node::Menu(menu) => match menu.choices.get(digit.to_string().as_str()) {
                Some(target) => Some(target.clone()),
                None => self.input_failed(input, InputFailure::Invalid, now),
            },
            Node::Language(menu) => match menu.choices.get(digit.to_string().as_str()) {
                Some(language) => {
                    self.log(TimelineKind::Language, language.clone());
                    self.set_variable("language", language.clone());
                    Some(menu.next.clone())
                }
                None => self.input_failed(input, InputFailure::Invalid, now),
            },
            Node::Collect(collect) => {
                let is_terminator = collect.terminator.chars().eq(std::iter::once(digit));
                if is_terminator {
                    return self.finish_collect(input, now);
                }
                input.collected.push(digit);
                let length = u32::try_from(input.collected.chars().count()).unwrap_or(u32::MAX);
                if length >= collect.max_length {
                    return self.finish_collect(input, now);
                }
                self.deadline = Some(later(now, collect.inter_digit_timeout_secs.into()));
                self.phase = Phase::Input(input);
                None
            }
            _ => None,
        }
    }

    fn on_input_timeout(&mut self, input: InputState, now: Timestamp) -> Option<String> {
        if input.playing {
            // No deadline runs while prompts play; keep waiting.
            self.phase = Phase::Input(input);
            return None;
        }
        let is_collect_with_digits =
            matches!(self.plan.node(&self.current), Some(Node::Collect(_)))
                && !input.collected.is_empty();
        if is_collect_with_digits {
            self.finish_collect(input, now)
        } else {
            self.input_failed(input, InputFailure::Timeout, now)
        }
    }

    /// Ends digit collection: stores the value if it is acceptable, retries
    /// otherwise.
    fn finish_collect(&mut self, input: InputState, now: Timestamp) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let Some(Node::Collect(collect)) = plan.node(&self.current) else {
            return None;
        };
        let length = u32::try_from(input.collected.chars().count()).unwrap_or(u32::MAX);
        let long_enough = length >= collect.min_length && length <= collect.max_length;
        let matches_pattern = plan
            .patterns
            .get(&self.current)
            .is_none_or(|pattern| pattern.is_match(&input.collected));
        if long_enough && matches_pattern {
            self.set_variable(&collect.variable, input.collected.clone());
            Some(collect.next.clone())
        } else {
            self.input_failed(input, InputFailure::Invalid, now)
        }
    }

    /// Replays the prompts after invalid input or a timeout, or goes to the
    /// fallback once the retries are used up.
    fn input_failed(
        &mut self,
        mut input: InputState,
        failure: InputFailure,
        now: Timestamp,
    ) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let node = plan.node(&self.current)?;
        let settings = input_settings(node)?;
        let (kind, feedback) = match failure {
            InputFailure::Invalid => (TimelineKind::InputInvalid, settings.invalid_prompt),
            InputFailure::Timeout => (TimelineKind::InputTimeout, settings.timeout_prompt),
        };
        let detail = if input.collected.is_empty() {
            format!("attempt {}", input.retries_used + 1)
        } else {
            format!("attempt {}: '{}'", input.retries_used + 1, input.collected)
        };
        self.log(kind, detail);
        if input.retries_used >= settings.max_retries {
            return Some(settings.fallback.to_string());
        }
        input.retries_used += 1;
        input.collected.clear();
        self.phase = Phase::Input(input);
        self.start_input_prompts(node, feedback, now);
        None
    }

    // ----- events -----

    fn on_digit(&mut self, digit: char, now: Timestamp) -> Option<String> {
        let digit = digit.to_ascii_uppercase();
        if !is_dtmf(digit) {
            self.log(
                TimelineKind::Digit,
                format!("{:?} ignored: not a DTMF key", digit),
            );
            return None;
        }
        self.digits.push(digit);
        self.log(TimelineKind::Digit, digit.to_string());
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Playing {
                next,
                barge_in: true,
            } => {
                self.actions.push_back(Action::StopPlayback);
                Some(next)
            }
            Phase::Input(input) => self.on_input_digit(input, digit, now),
            Phase::Recording { path } => {
                let stops = match self.plan.node(&self.current) {
                    Some(Node::Record(record)) => record.stop_digits.contains(digit),
                    _ => false,
                };
                if stops {
                    self.actions.push_back(Action::StopRecording);
                    self.deadline = Some(later(now, RECORDING_STOP_WAIT_SECONDS));
                    self.phase = Phase::RecordingStopping { path };
                } else {
                    self.phase = Phase::Recording { path };
                }
                None
            }
            other => {
                self.phase = other;
                None
            }
        }
    }

    fn on_playback_finished(&mut self, now: Timestamp) -> Option<String> {
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Playing { next, .. } => Some(next),
            Phase::Input(mut input) if input.playing => {
                input.playing = false;
                let timeout_secs = self
                    .plan
                    .node(&self.current)
                    .and_then(input_settings)
                    .map(|settings| settings.first_timeout_secs)
                    .unwrap_or(5);
                self.deadline = Some(later(now, timeout_secs.into()));
                self.phase = Phase::Input(input);
                None
            }
            Phase::RecordingPrompt => {
                self.start_recording(now);
                None
            }
            Phase::TransferPrompt => {
                self.start_transfer();
                None
            }
            Phase::HangupPrompt => {
                let outcome = match self.plan.node(&self.current) {
                    Some(Node::Hangup(hangup)) => hangup.outcome.clone(),
                    _ => "completed".to_string(),
                };
                self.hang_up(outcome);
                None
            }
            other => {
                // A stray report (for example after StopPlayback) changes
                // nothing.
                self.phase = other;
                None
            }
        }
    }

    fn start_recording(&mut self, now: Timestamp) {
        let plan = Arc::clone(&self.plan);
        let Some(Node::Record(record)) = plan.node(&self.current) else {
            return;
        };
        let rendered = template::render(&record.path, &self.variables, Escape::FileName);
        let mut path = template::contained_path(&rendered);
        if path.is_empty() {
            path = format!("{}.wav", template::file_name_safe(&self.info.call_id));
        }
        self.log(TimelineKind::Record, format!("recording to {path}"));
        self.actions.push_back(Action::StartRecording {
            path: path.clone(),
            max_seconds: record.max_seconds,
            silence_seconds: record.silence_seconds,
        });
        let safety = i64::from(record.max_seconds) + RECORDING_SAFETY_SECONDS;
        self.deadline = Some(later(now, safety));
        self.phase = Phase::Recording { path };
    }

    fn on_recording_finished(
        &mut self,
        path: String,
        duration_ms: u64,
        reason: RecordingEndReason,
    ) -> Option<String> {
        match &self.phase {
            Phase::Recording { .. } | Phase::RecordingStopping { .. } => {}
            _ => return None,
        }
        self.deadline = None;
        self.phase = Phase::Idle;
        self.log(
            TimelineKind::Record,
            format!("finished: {path}, {duration_ms} ms, {reason:?}"),
        );
        self.set_variable("recording_path", path);
        self.set_variable("recording_duration_ms", duration_ms.to_string());
        if reason == RecordingEndReason::Hangup {
            self.finish("caller_hangup");
            return None;
        }
        match self.plan.node(&self.current) {
            Some(Node::Record(record)) => Some(record.next.clone()),
            _ => None,
        }
    }

    fn on_http_response(
        &mut self,
        result: Result<BTreeMap<String, String>, String>,
    ) -> Option<String> {
        if !matches!(self.phase, Phase::WaitingForHttp) {
            return None;
        }
        self.deadline = None;
        self.phase = Phase::Idle;
        let plan = Arc::clone(&self.plan);
        let Some(Node::Http(http)) = plan.node(&self.current) else {
            return None;
        };
        match result {
            Ok(fields) => {
                self.log(TimelineKind::Http, format!("ok: {} fields", fields.len()));
                for (field, value) in fields {
                    self.set_variable(&format!("{}{}", http.result_prefix, field), value);
                }
                Some(http.next.clone())
            }
            Err(error) => {
                self.log(TimelineKind::Http, format!("error: {error}"));
                Some(http.on_error.clone())
            }
        }
    }

    fn start_transfer(&mut self) {
        let target = match self.plan.node(&self.current) {
            Some(Node::Transfer(transfer)) => match (&transfer.target, &transfer.queue) {
                (Some(uri), _) => TransferTarget::Sip(uri.clone()),
                (None, Some(queue)) => TransferTarget::Queue(queue.clone()),
                (None, None) => return,
            },
            _ => return,
        };
        let detail = match &target {
            TransferTarget::Sip(uri) => format!("to {uri}"),
            TransferTarget::Queue(queue) => format!("to queue {queue}"),
        };
        self.log(TimelineKind::Transfer, detail);
        self.actions.push_back(Action::Transfer { target });
        self.phase = Phase::Transferring;
    }

    fn on_transfer_result(&mut self, connected: bool, reason: String) -> Option<String> {
        if !matches!(self.phase, Phase::Transferring) {
            return None;
        }
        self.phase = Phase::Idle;
        if connected {
            // The bridge is the driver's job; this session is done.
            self.log(TimelineKind::Transfer, format!("connected: {reason}"));
            self.finish("transferred");
            return None;
        }
        self.log(TimelineKind::Transfer, format!("failed: {reason}"));
        match self.plan.node(&self.current) {
            Some(Node::Transfer(transfer)) => Some(transfer.on_failure.clone()),
            _ => None,
        }
    }

    fn on_queue_result(&mut self, outcome: QueueOutcome) -> Option<String> {
        if !matches!(self.phase, Phase::Transferring) {
            return None;
        }
        self.phase = Phase::Idle;
        let Some(Node::Transfer(transfer)) = self.plan.node(&self.current) else {
            return None;
        };
        let (on_failure, on_timeout, on_callback) = (
            transfer.on_failure.clone(),
            transfer.on_timeout.clone(),
            transfer.on_callback.clone(),
        );
        match outcome {
            QueueOutcome::Connected { agent } => {
                self.set_variable("agent", agent.clone());
                self.log(TimelineKind::Transfer, format!("talked to agent {agent}"));
                self.finish("agent");
                None
            }
            QueueOutcome::CallbackRequested => {
                self.log(TimelineKind::Transfer, "callback requested".to_string());
                if on_callback.is_none() {
                    self.finish("callback_requested");
                }
                on_callback
            }
            QueueOutcome::TimedOut => {
                self.log(TimelineKind::Transfer, "waited too long".to_string());
                Some(on_timeout.unwrap_or(on_failure))
            }
            QueueOutcome::Unavailable(reason) => {
                self.log(TimelineKind::Transfer, format!("no agent: {reason}"));
                Some(on_failure)
            }
        }
    }

    // ----- bookkeeping -----

    fn set_variable(&mut self, name: &str, value: String) {
        self.log(TimelineKind::Variable, format!("{name}={value}"));
        self.variables.insert(name.to_string(), value);
    }

    fn log(&mut self, kind: TimelineKind, detail: String) {
        self.actions.push_back(Action::Log(TimelineEntry {
            kind,
            node: self.current.clone(),
            detail,
        }));
    }

    fn hang_up(&mut self, outcome: String) {
        self.log(TimelineKind::Hangup, format!("outcome {outcome}"));
        self.actions.push_back(Action::Hangup {
            outcome: outcome.clone(),
        });
        self.finish(&outcome);
    }

    fn finish(&mut self, outcome: &str) {
        self.phase = Phase::Finished;
        self.deadline = None;
        if self.outcome.is_none() {
            self.outcome = Some(outcome.to_string());
        }
    }
}
