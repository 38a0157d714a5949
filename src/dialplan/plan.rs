//! The validated, immutable dialplan shared by every call that uses it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use chrono_tz::Tz;
use regex::Regex;

use super::conditions::Rule;
use super::model::Node;
use super::numbers;
use super::template;

/// A dialplan that passed validation. Build it with
/// [`parse_and_validate`](super::parse_and_validate) or
/// [`load_file`](super::load_file) and share it as `Arc<Dialplan>`.
#[derive(Debug)]
pub struct Dialplan {
    pub(crate) name: String,
    pub(crate) start: String,
    pub(crate) default_language: String,
    pub(crate) languages: Vec<String>,
    pub(crate) timezone_name: String,
    pub(crate) timezone: Tz,
    pub(crate) holidays: BTreeSet<NaiveDate>,
    pub(crate) variables: BTreeMap<String, String>,
    pub(crate) nodes: BTreeMap<String, Node>,
    /// Compiled `when` entries of each branch node, by node name.
    pub(crate) rules: BTreeMap<String, Vec<Rule>>,
    /// Compiled `pattern` of each collect node that has one, by node name.
    pub(crate) patterns: BTreeMap<String, Regex>,
}

impl Dialplan {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first node of every call.
    pub fn start(&self) -> &str {
        &self.start
    }

    /// Every language the plan may switch to; the default is among them.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    pub fn default_language(&self) -> &str {
        &self.default_language
    }

    /// The IANA name of the time zone used by time conditions.
    pub fn timezone_name(&self) -> &str {
        &self.timezone_name
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// The `[variables]` table every call starts with.
    pub fn initial_variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// All nodes by name.
    pub fn nodes(&self) -> &BTreeMap<String, Node> {
        &self.nodes
    }

    /// Every (language, prompt) pair the plan can play whose name is known
    /// at load time, so the engine can preload them. Templated names are
    /// left out because they depend on the call.
    pub fn prompts_used(&self) -> Vec<(String, String)> {
        let mut used = BTreeSet::new();
        for node in self.nodes.values() {
            for name in literal_prompt_names(node) {
                for language in &self.languages {
                    used.insert((language.clone(), name.clone()));
                }
            }
        }
        used.into_iter().collect()
    }
}

/// Every prompt name a node may play, templated ones included.
pub(crate) fn prompt_names(node: &Node) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let optional = |names: &mut Vec<String>, name: &Option<String>| {
        if let Some(name) = name {
            names.push(name.clone());
        }
    };
    match node {
        Node::Play(node) => names.extend(node.prompts.iter().cloned()),
        Node::Language(node) => {
            names.extend(node.prompts.iter().cloned());
            optional(&mut names, &node.invalid_prompt);
            optional(&mut names, &node.timeout_prompt);
        }
        Node::Menu(node) => {
            names.extend(node.prompts.iter().cloned());
            optional(&mut names, &node.invalid_prompt);
            optional(&mut names, &node.timeout_prompt);
        }
        Node::Collect(node) => {
            names.extend(node.prompts.iter().cloned());
            optional(&mut names, &node.invalid_prompt);
            optional(&mut names, &node.timeout_prompt);
        }
        Node::SayNumber(_) => names.extend(numbers::all_number_prompt_names()),
        Node::SayDigits(_) => names.extend(numbers::all_digit_prompt_names()),
        Node::Record(node) => {
            names.extend(node.prompts.iter().cloned());
            if node.beep {
                names.push(super::interpreter::BEEP_PROMPT.to_string());
            }
        }
        Node::Transfer(node) => names.extend(node.prompts.iter().cloned()),
        Node::Hangup(node) => names.extend(node.prompts.iter().cloned()),
        Node::Set(_) | Node::Branch(_) | Node::Http(_) => {}
    }
    names
}

/// The prompt names of a node that contain no template.
pub(crate) fn literal_prompt_names(node: &Node) -> Vec<String> {
    prompt_names(node)
        .into_iter()
        .filter(|name| !template::is_templated(name))
        .collect()
}
