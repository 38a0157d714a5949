//! The dialplan file format: the TOML shape, deserialized with serde.
//!
//! A dialplan is a TOML file describing the nodes a caller moves through.
//! Unknown keys and unknown node types are errors, so a typo never silently
//! changes behaviour.
//!
//! ```toml
//! [dialplan]
//! name = "demo"                 # optional, defaults to the file stem
//! start = "welcome"             # required: first node
//! language = "en"               # default prompt language (prompts/<lang>/<name>.wav); default "en"
//! languages = ["en", "es"]      # all languages this plan may switch to (default: [language]);
//!                               # every prompt must exist in each
//! timezone = "America/New_York" # IANA name, used by time conditions; default "UTC"
//! holidays = ["2026-12-25"]     # dates (YYYY-MM-DD) in that time zone
//!
//! [variables]                   # optional initial variables (strings; numbers and
//! support_hours_open = "9"      # booleans are accepted and stored as text)
//!
//! [nodes.welcome]
//! type = "play"
//! prompts = ["welcome"]         # prompt names; a name may contain ${var} templates
//! barge_in = false              # default false: true lets a digit skip the prompt
//! next = "language"
//!
//! [nodes.language]
//! type = "language"             # a menu whose choices select a language
//! prompts = ["language_menu"]
//! choices = { "1" = "en", "2" = "es" }
//! next = "main_menu"
//! barge_in = true               # default true
//! timeout_secs = 5              # default 5
//! max_retries = 2               # default 3: times the prompt is repeated after invalid/timeout
//! invalid_prompt = "invalid"    # optional
//! timeout_prompt = "no_input"   # optional
//! fallback = "main_menu"        # optional (defaults to next); keeps the default language
//!
//! [nodes.main_menu]
//! type = "menu"
//! prompts = ["main_menu"]
//! choices = { "1" = "info", "0" = "agent" }   # keys: one DTMF character each (0-9 * # A-D)
//! barge_in = true               # default true
//! timeout_secs = 5              # default 5
//! max_retries = 3               # default 3
//! invalid_prompt = "invalid"    # optional
//! timeout_prompt = "no_input"   # optional
//! fallback = "goodbye"          # required
//!
//! [nodes.account]
//! type = "collect"
//! prompts = ["account_prompt"]
//! variable = "account"          # required
//! min_length = 4                # default 1
//! max_length = 10               # default 20; reaching it ends collection
//! terminator = "#"              # default "#"; "" = none
//! first_digit_timeout_secs = 7  # default 5
//! inter_digit_timeout_secs = 3  # default 3; ends collection (valid if min_length reached)
//! pattern = "^[0-9]{4,10}$"     # optional regex the digits must match
//! barge_in = true               # default true
//! max_retries = 2               # default 3
//! invalid_prompt = "account_invalid"
//! timeout_prompt = "no_input"
//! next = "lookup"
//! fallback = "goodbye"          # required
//!
//! [nodes.set_vip]
//! type = "set"
//! variables = { vip = "yes", greeting = "hello ${caller}" }
//! next = "x"
//!
//! [nodes.hours_check]
//! type = "branch"
//! default = "closed"
//! [[nodes.hours_check.when]]    # first matching entry wins; every test in one entry must hold
//! variable = "vip"              # a variable test: `equals`, `not_equals` and/or `matches` (regex)
//! equals = "yes"
//! goto = "vip_menu"
//! [[nodes.hours_check.when]]
//! caller_prefix = ["+1", "1"]   # caller number starts with any of these
//! goto = "us_menu"
//! [[nodes.hours_check.when]]
//! days = ["mon", "tue", "wed", "thu", "fri"]  # day of week in the plan's time zone
//! time = "09:00-17:00"          # local time range, end exclusive; may wrap midnight; "24:00" may end it
//! holiday = false               # true = today is a holiday, false = today is not
//! goto = "open"
//!
//! [nodes.read_hours]
//! type = "say_number"           # 0..=999999 as words; anything else is read digit by digit
//! value = "${support_hours_open}"
//! next = "x"
//!
//! [nodes.read_ref]
//! type = "say_digits"           # digit_0..digit_9, digit_star, digit_pound; other characters are skipped
//! value = "${reference}"
//! next = "x"
//!
//! [nodes.lookup]
//! type = "http"
//! method = "GET"                # GET (default) or POST; POST sends all call variables as a JSON object
//! url = "http://127.0.0.1:8089/accounts/${account}"   # values are URL-encoded when substituted
//! timeout_ms = 2000             # default 3000
//! result_prefix = "account_"    # default ""; each top-level JSON field becomes variable <prefix><field>
//! next = "say_balance"
//! on_error = "lookup_failed"    # required: timeout, non-2xx, non-JSON
//!
//! [nodes.report]
//! type = "record"
//! prompts = ["report_intro"]    # played first (default none)
//! beep = true                   # default false: play prompt "beep" before recording
//! path = "recordings/${call_id}.wav"  # relative to the engine's recordings folder
//! max_seconds = 60              # default 120
//! silence_seconds = 5           # default 5
//! stop_digits = "#"             # default "#": any of these digits ends the recording
//! next = "report_thanks"
//!
//! [nodes.agent]
//! type = "transfer"
//! prompts = ["transfer_wait"]   # optional, played before transferring
//! target = "sip:support@127.0.0.1:5070"   # a SIP URI (sip: or sips:) ...
//! # queue = "support"           # ... or an agent queue name (exactly one of the two)
//! on_failure = "agents_unavailable"  # required: refused, or no agent logged in to the queue
//! on_timeout = "voicemail"      # queue only, optional: waited the queue's max_wait (default on_failure)
//! on_callback = "callback_bye"  # queue only, optional: asked for a callback (default: hang up)
//!
//! [nodes.goodbye]
//! type = "hangup"
//! prompts = ["goodbye"]         # optional
//! outcome = "completed"         # default "completed"
//! ```
//!
//! Every node may also have `log = "text"`, which only appears in the call
//! timeline.
//!
//! Templates: `${name}` is replaced by the variable's value (empty when the
//! variable is unknown) and `$$` is a literal `$`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// The `[dialplan]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: Option<String>,
    pub start: String,
    #[serde(default = "default_language")]
    pub language: String,
    pub languages: Option<Vec<String>>,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// One node of the plan; `type` selects the variant.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Node {
    Play(PlayNode),
    Language(LanguageNode),
    Menu(MenuNode),
    Collect(CollectNode),
    Set(SetNode),
    Branch(BranchNode),
    SayNumber(SayNode),
    SayDigits(SayNode),
    Http(HttpNode),
    Record(RecordNode),
    Transfer(TransferNode),
    Hangup(HangupNode),
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlayNode {
    #[serde(default)]
    pub prompts: Vec<String>,
    #[serde(default)]
    pub barge_in: bool,
    pub next: String,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LanguageNode {
    #[serde(default)]
    pub prompts: Vec<String>,
    pub choices: BTreeMap<String, String>,
    pub next: String,
    #[serde(default = "yes")]
    pub barge_in: bool,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u32,
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    pub fallback: Option<String>,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MenuNode {
    #[serde(default)]
    pub prompts: Vec<String>,
    pub choices: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub barge_in: bool,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u32,
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    pub fallback: String,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CollectNode {
    #[serde(default)]
    pub prompts: Vec<String>,
    pub variable: String,
    #[serde(default = "default_min_length")]
    pub min_length: u32,
    #[serde(default = "default_max_length")]
    pub max_length: u32,
    #[serde(default = "default_terminator")]
    pub terminator: String,
    #[serde(default = "default_timeout_secs")]
    pub first_digit_timeout_secs: u32,
    #[serde(default = "default_inter_digit_timeout_secs")]
    pub inter_digit_timeout_secs: u32,
    pub pattern: Option<String>,
    #[serde(default = "yes")]
    pub barge_in: bool,
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    pub next: String,
    pub fallback: String,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SetNode {
    #[serde(deserialize_with = "text_map")]
    pub variables: BTreeMap<String, String>,
    pub next: String,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BranchNode {
    #[serde(default)]
    pub when: Vec<Condition>,
    pub default: String,
    pub log: Option<String>,
}

/// One `[[nodes.X.when]]` entry. Every test present must hold.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub variable: Option<String>,
    pub equals: Option<String>,
    pub not_equals: Option<String>,
    pub matches: Option<String>,
    pub caller_prefix: Option<Vec<String>>,
    pub days: Option<Vec<String>>,
    pub time: Option<String>,
    pub holiday: Option<bool>,
    pub goto: String,
}

/// Shared by `say_number` and `say_digits`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SayNode {
    pub value: String,
    pub next: String,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpNode {
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub result_prefix: String,
    pub next: String,
    pub on_error: String,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordNode {
    #[serde(default)]
    pub prompts: Vec<String>,
    #[serde(default)]
    pub beep: bool,
    pub path: String,
    #[serde(default = "default_max_seconds")]
    pub max_seconds: u32,
    #[serde(default = "default_silence_seconds")]
    pub silence_seconds: u32,
    #[serde(default = "default_terminator")]
    pub stop_digits: String,
    pub next: String,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TransferNode {
    #[serde(default)]
    pub prompts: Vec<String>,
    pub target: Option<String>,
    pub queue: Option<String>,
    pub on_failure: String,
    /// Queue only: where a caller who waited the queue's `max_wait` goes
    /// (e.g. a voicemail `record` node). Default: `on_failure`.
    pub on_timeout: Option<String>,
    /// Queue only: where a caller who asked to be called back goes. Default:
    /// the call ends with outcome `callback_requested`.
    pub on_callback: Option<String>,
    pub log: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HangupNode {
    #[serde(default)]
    pub prompts: Vec<String>,
    #[serde(default = "default_outcome")]
    pub outcome: String,
    pub log: Option<String>,
}

impl Node {
    /// The `type` name as written in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Play(_) => "play",
            Node::Language(_) => "language",
            Node::Menu(_) => "menu",
            Node::Collect(_) => "collect",
            Node::Set(_) => "set",
            Node::Branch(_) => "branch",
            Node::SayNumber(_) => "say_number",
            Node::SayDigits(_) => "say_digits",
            Node::Http(_) => "http",
            Node::Record(_) => "record",
            Node::Transfer(_) => "transfer",
            Node::Hangup(_) => "hangup",
        }
    }

    /// The optional `log` text.
    pub fn log_text(&self) -> Option<&str> {
        match self {
            Node::Play(node) => node.log.as_deref(),
            Node::Language(node) => node.log.as_deref(),
            Node::Menu(node) => node.log.as_deref(),
            Node::Collect(node) => node.log.as_deref(),
            Node::Set(node) => node.log.as_deref(),
            Node::Branch(node) => node.log.as_deref(),
            Node::SayNumber(node) | Node::SayDigits(node) => node.log.as_deref(),
            Node::Http(node) => node.log.as_deref(),
            Node::Record(node) => node.log.as_deref(),
            Node::Transfer(node) => node.log.as_deref(),
            Node::Hangup(node) => node.log.as_deref(),
        }
    }

    /// Whether the node waits for the caller to do something. Cycles made
    /// only of nodes that do not wait would spin forever.
    pub fn waits_for_caller(&self) -> bool {
        matches!(
            self,
            Node::Menu(_) | Node::Language(_) | Node::Collect(_) | Node::Record(_)
        )
    }

    /// Every node this node can move to, labelled by the key that names it
    /// (for error messages), in file order where it matters.
    pub fn targets(&self) -> Vec<(String, &str)> {
        let mut targets: Vec<(String, &str)> = Vec::new();
        match self {
            Node::Play(node) => targets.push(("next".into(), &node.next)),
            Node::Language(node) => {
                targets.push(("next".into(), &node.next));
                if let Some(fallback) = &node.fallback {
                    targets.push(("fallback".into(), fallback));
                }
            }
            Node::Menu(node) => {
                for (key, target) in &node.choices {
                    targets.push((format!("choice '{key}'"), target));
                }
                targets.push(("fallback".into(), &node.fallback));
            }
            Node::Collect(node) => {
                targets.push(("next".into(), &node.next));
                targets.push(("fallback".into(), &node.fallback));
            }
            Node::Set(node) => targets.push(("next".into(), &node.next)),
            Node::Branch(node) => {
                for (index, condition) in node.when.iter().enumerate() {
                    targets.push((format!("when #{} goto", index + 1), &condition.goto));
                }
                targets.push(("default".into(), &node.default));
            }
            Node::SayNumber(node) | Node::SayDigits(node) => {
                targets.push(("next".into(), &node.next))
            }
            Node::Http(node) => {
                targets.push(("next".into(), &node.next));
                targets.push(("on_error".into(), &node.on_error));
            }
            Node::Record(node) => targets.push(("next".into(), &node.next)),
            Node::Transfer(node) => {
                targets.push(("on_failure".into(), &node.on_failure));
                if let Some(target) = &node.on_timeout {
                    targets.push(("on_timeout".into(), target));
                }
                if let Some(target) = &node.on_callback {
                    targets.push(("on_callback".into(), target));
                }
            }
            Node::Hangup(_) => {}
        }
        targets
    }
}

fn default_language() -> String {
    "en".to_string()
}
fn default_timezone() -> String {
    "UTC".to_string()
}
fn yes() -> bool {
    true
}
fn default_timeout_secs() -> u32 {
    5
}
fn default_max_retries() -> u32 {
    3
}
fn default_min_length() -> u32 {
    1
}
fn default_max_length() -> u32 {
    20
}
fn default_terminator() -> String {
    "#".to_string()
}
fn default_inter_digit_timeout_secs() -> u32 {
    3
}
fn default_method() -> String {
    "GET".to_string()
}
fn default_timeout_ms() -> u64 {
    3000
}
fn default_max_seconds() -> u32 {
    120
}
fn default_silence_seconds() -> u32 {
    5
}
fn default_outcome() -> String {
    "completed".to_string()
}

/// A variable value: people write `hours = 9` as often as `hours = "9"`, so
/// numbers and booleans are accepted and kept as their text.
struct TextValue(String);

impl<'de> Deserialize<'de> for TextValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = TextValue;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<TextValue, E> {
                Ok(TextValue(value.to_string()))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<TextValue, E> {
                Ok(TextValue(value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<TextValue, E> {
                Ok(TextValue(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<TextValue, E> {
                Ok(TextValue(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<TextValue, E> {
                Ok(TextValue(value.to_string()))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<TextValue, E> {
                Ok(TextValue(value.to_string()))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// Deserializes a table of variables whose values may be any scalar.
pub(crate) fn text_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct MapVisitor;
    impl<'de> Visitor<'de> for MapVisitor {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a table of variable names to values")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<String, TextValue>()? {
                map.insert(key, value.0);
            }
            Ok(map)
        }
    }
    deserializer.deserialize_map(MapVisitor)
}

/// The `[variables]` table on its own, so it can be deserialized with
/// [`text_map`] from a generic TOML value.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(transparent)]
pub(crate) struct Variables(#[serde(deserialize_with = "text_map")] pub BTreeMap<String, String>);
