//! Loading and checking a dialplan. Every problem found is reported, not just
//! the first, so an author can fix a file in one pass.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::conditions::{parse_date, parse_day, Rule, TimeRange, VariableTest};
use super::model::{Condition, Header, Node, Variables};
use super::plan::{literal_prompt_names, Dialplan};
use super::template;

/// One problem in a dialplan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialplanError {
    /// The file label given to the loader, e.g. `dialplans/demo.toml`.
    pub file: String,
    /// The node the problem is in, when it is in one.
    pub node: Option<String>,
    pub reason: String,
}

impl fmt::Display for DialplanError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(formatter, "{}: node '{}': {}", self.file, node, self.reason),
            None => write!(formatter, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for DialplanError {}

/// Tells the validator which prompt recordings exist, so a plan that would
/// play silence is rejected at load time instead of mid-call.
pub trait PromptCatalog {
    fn has_prompt(&self, language: &str, name: &str) -> bool;
}

/// Lets a closure serve as a catalog, which keeps tests and simple engines
/// free of boilerplate.
impl<F: Fn(&str, &str) -> bool> PromptCatalog for F {
    fn has_prompt(&self, language: &str, name: &str) -> bool {
        self(language, name)
    }
}

/// Reads and validates a dialplan file. A read failure is reported as a
/// [`DialplanError`] too, so callers handle one error type.
pub fn load_file(path: &Path, prompts: &dyn PromptCatalog) -> Result<Dialplan, Vec<DialplanError>> {
    let label = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_and_validate(&label, &text, prompts),
        Err(error) => Err(vec![DialplanError {
            file: label,
            node: None,
            reason: format!("cannot read file: {error}"),
        }]),
    }
}

/// The file's top level, with each section kept as a raw value and its
/// position so sections can be checked one by one (collecting every error)
/// while still reporting line and column.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    dialplan: Spanned<toml::Value>,
    variables: Option<Spanned<toml::Value>>,
    #[serde(default)]
    nodes: BTreeMap<String, Spanned<toml::Value>>,
}

/// Parses and validates a dialplan. `file_label` names the file in errors
/// and provides the default plan name (its stem).
pub fn parse_and_validate(
    file_label: &str,
    text: &str,
    prompts: &dyn PromptCatalog,
) -> Result<Dialplan, Vec<DialplanError>> {
    let mut checker = Checker {
        file: file_label.to_string(),
        errors: Vec::new(),
    };
    let document: RawDocument = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            checker.file_error(format!("invalid TOML: {}", error.to_string().trim_end()));
            return Err(checker.errors);
        }
    };

    let header = match document.dialplan.get_ref().clone().try_into::<Header>() {
        Ok(header) => Some(header),
        Err(error) => {
            let position = position(text, document.dialplan.span().start);
            checker.file_error(format!(
                "[dialplan] at {position}: {}",
                one_line(&error.to_string())
            ));
            None
        }
    };
    let variables = match &document.variables {
        None => BTreeMap::new(),
        Some(raw) => match raw.get_ref().clone().try_into::<Variables>() {
            Ok(variables) => variables.0,
            Err(error) => {
                let position = position(text, raw.span().start);
                checker.file_error(format!(
                    "[variables] at {position}: {}",
                    one_line(&error.to_string())
                ));
                BTreeMap::new()
            }
        },
    };
    let mut nodes = BTreeMap::new();
    let mut all_nodes_parsed = true;
    for (name, raw) in &document.nodes {
        match raw.get_ref().clone().try_into::<Node>() {
            Ok(node) => {
                nodes.insert(name.clone(), node);
            }
            Err(error) => {
                all_nodes_parsed = false;
                let position = position(text, raw.span().start);
                checker.node_error(
                    name,
                    format!("at {position}: {}", one_line(&error.to_string())),
                );
            }
        }
    }
    let node_names: BTreeSet<&str> = document.nodes.keys().map(String::as_str).collect();

    for name in variables.keys() {
        if !is_variable_name(name) {
            checker.file_error(format!(
                "variable name '{name}' may only contain letters, digits, '_', '-' and '.'"
            ));
        }
    }

    let Some(header) = header else {
        // Without the header there is no start node or language list, so
        // only the node-local checks can run.
        for (name, node) in &nodes {
            checker.check_node(name, node, &node_names, &[], prompts);
        }
        return Err(checker.errors);
    };

    let languages = header
        .languages
        .clone()
        .unwrap_or_else(|| vec![header.language.clone()]);
    checker.check_header(&header, &languages);
    let timezone = match header.timezone.parse::<chrono_tz::Tz>() {
        Ok(timezone) => Some(timezone),
        Err(_) => {
            checker.file_error(format!(
                "timezone '{}' is not a known IANA time zone",
                header.timezone
            ));
            None
        }
    };
    let mut holidays = BTreeSet::new();
    for text in &header.holidays {
        match parse_date(text) {
            Some(date) => {
                holidays.insert(date);
            }
            None => {
                checker.file_error(format!("holiday '{text}' is not a date in YYYY-MM-DD form"))
            }
        }
    }
    if !node_names.contains(header.start.as_str()) {
        checker.file_error(format!("start node '{}' does not exist", header.start));
    }

    let mut rules = BTreeMap::new();
    let mut patterns = BTreeMap::new();
    for (name, node) in &nodes {
        checker.check_node(name, node, &node_names, &languages, prompts);
        match node {
            Node::Branch(branch) => {
                let compiled: Vec<Rule> = branch
                    .when
                    .iter()
                    .enumerate()
                    .filter_map(|(index, condition)| {
                        checker.compile_condition(name, index, condition)
                    })
                    .collect();
                rules.insert(name.clone(), compiled);
            }
            Node::Collect(collect) => {
                if let Some(pattern) = &collect.pattern {
                    if let Some(regex) = checker.compile_regex(name, "pattern", pattern) {
                        patterns.insert(name.clone(), regex);
                    }
                }
            }
            _ => {}
        }
    }

    if all_nodes_parsed && node_names.contains(header.start.as_str()) {
        checker.check_reachable(&header.start, &nodes);
        checker.check_loops(&nodes);
    }

    match timezone {
        Some(timezone) if checker.errors.is_empty() => {
            let name = header.name.clone().unwrap_or_else(|| {
                Path::new(file_label)
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or_else(|| file_label.to_string())
            });
            Ok(Dialplan {
                name,
                start: header.start,
                default_language: header.language,
                languages,
                timezone_name: header.timezone,
                timezone,
                holidays,
                variables,
                nodes,
                rules,
                patterns,
            })
        }
        _ => Err(checker.errors),
    }
}

/// Section errors carry no source excerpt, so they read best on one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `line L, column C` (both counted from 1) for a byte offset.
fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|line_text| line_text.chars().count())
        .unwrap_or(0)
        + 1;
    format!("line {line}, column {column}")
}

/// The characters a DTMF keypad can send.
pub fn is_dtmf(character: char) -> bool {
    matches!(character, '0'..='9' | '*' | '#' | 'A'..='D')
}

fn single_dtmf(text: &str) -> bool {
    let mut characters = text.chars();
    matches!((characters.next(), characters.next()), (Some(character), None) if is_dtmf(character))
}

/// Variable names end up inside `${...}`, so they must not contain the
/// characters that delimit a template.
fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '_' | '-' | '.')
        })
}

/// Prompt names and language codes become file names
/// (`prompts/<language>/<name>.wav`), so they must not be able to leave
/// the prompt folder.
fn is_file_name_part(name: &str) -> bool {
    !name.is_empty()
        && !name.contains("..")
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '_' | '-' | '.')
        })
}

struct Checker {
    file: String,
    errors: Vec<DialplanError>,
}

impl Checker {
    fn file_error(&mut self, reason: String) {
        self.errors.push(DialplanError {
            file: self.file.clone(),
            node: None,
            reason,
        });
    }

    fn node_error(&mut self, node: &str, reason: String) {
        self.errors.push(DialplanError {
            file: self.file.clone(),
            node: Some(node.to_string()),
            reason,
        });
    }

    fn check_header(&mut self, header: &Header, languages: &[String]) {
        if languages.is_empty() {
            self.file_error("languages must list at least one language".to_string());
        }
        for language in languages {
            if !is_file_name_part(language) {
                self.file_error(format!(
                    "language '{language}' may only contain letters, digits, '_', '-' and '.'"
                ));
            }
        }
        if !languages.contains(&header.language) {
            self.file_error(format!(
                "default language '{}' is not listed in languages",
                header.language
            ));
        }
    }

    fn check_reference(&mut self, node: &str, label: &str, target: &str, names: &BTreeSet<&str>) {
        if !names.contains(target) {
            self.node_error(node, format!("{label} goes to unknown node '{target}'"));
        }
    }

    fn check_positive(&mut self, node: &str, key: &str, value: u64) {
        if value == 0 {
            self.node_error(node, format!("{key} must be greater than zero"));
        }
    }

    fn check_prompts(
        &mut self,
        name: &str,
        node: &Node,
        languages: &[String],
        prompts: &dyn PromptCatalog,
    ) {
        let names = literal_prompt_names(node);
        let mut invalid = BTreeSet::new();
        for prompt in &names {
            if !is_file_name_part(prompt) && invalid.insert(prompt.clone()) {
                self.node_error(
                    name,
                    format!(
                        "prompt name '{prompt}' may only contain letters, digits, '_', '-' and '.'"
                    ),
                );
            }
        }
        for language in languages {
            let mut missing: Vec<&str> = Vec::new();
            for prompt in &names {
                if !invalid.contains(prompt)
                    && !missing.contains(&prompt.as_str())
                    && !prompts.has_prompt(language, prompt)
                {
                    missing.push(prompt);
                }
            }
            match missing.as_slice() {
                [] => {}
                [one] => self.node_error(
                    name,
                    format!("prompt '{one}' is missing for language '{language}'"),
                ),
                many => {
                    let list = many
                        .iter()
                        .map(|prompt| format!("'{prompt}'"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.node_error(
                        name,
                        format!("prompts {list} are missing for language '{language}'"),
                    );
                }
            }
        }
    }

    fn check_choice_keys(&mut self, name: &str, choices: &BTreeMap<String, String>) {
        if choices.is_empty() {
            self.node_error(name, "choices must not be empty".to_string());
        }
        for key in choices.keys() {
            if !single_dtmf(key) {
                self.node_error(
                    name,
                    format!("choice '{key}' is not a single DTMF key (0-9, *, #, A-D)"),
                );
            }
        }
    }

    fn check_node(
        &mut self,
        name: &str,
        node: &Node,
        names: &BTreeSet<&str>,
        languages: &[String],
        prompts: &dyn PromptCatalog,
    ) {
        for (label, target) in node.targets() {
            self.check_reference(name, &label, target, names);
        }
        self.check_prompts(name, node, languages, prompts);
        match node {
            Node::Play(_) | Node::SayNumber(_) | Node::SayDigits(_) => {}
            Node::Menu(menu) => {
                self.check_choice_keys(name, &menu.choices);
                self.check_positive(name, "timeout_secs", menu.timeout_secs.into());
            }
            Node::Language(menu) => {
                self.check_choice_keys(name, &menu.choices);
                for (key, language) in &menu.choices {
                    if !languages.contains(language) {
                        self.node_error(
                            name,
                            format!("choice '{key}' selects language '{language}', which is not listed in languages"),
                        );
                    }
                }
                self.check_positive(name, "timeout_secs", menu.timeout_secs.into());
            }
            Node::Collect(collect) => {
                if !is_variable_name(&collect.variable) {
                    self.node_error(
                        name,
                        format!(
                            "variable name '{}' may only contain letters, digits, '_', '-' and '.'",
                            collect.variable
                        ),
                    );
                }
                if collect.min_length > collect.max_length {
                    self.node_error(
                        name,
                        format!(
                            "min_length {} is greater than max_length {}",
                            collect.min_length, collect.max_length
                        ),
                    );
                }
                self.check_positive(name, "max_length", collect.max_length.into());
                if !collect.terminator.is_empty() && !single_dtmf(&collect.terminator) {
                    self.node_error(
                        name,
                        format!(
                            "terminator '{}' must be a single DTMF key (0-9, *, #, A-D) or empty",
                            collect.terminator
                        ),
                    );
                }
                self.check_positive(
                    name,
                    "first_digit_timeout_secs",
                    collect.first_digit_timeout_secs.into(),
                );
                self.check_positive(
                    name,
                    "inter_digit_timeout_secs",
                    collect.inter_digit_timeout_secs.into(),
                );
                // The pattern is compiled (and reported) by the caller, which
                // keeps the compiled form.
            }
            Node::Set(set) => {
                for variable in set.variables.keys() {
                    if !is_variable_name(variable) {
                        self.node_error(
                            name,
                            format!("variable name '{variable}' may only contain letters, digits, '_', '-' and '.'"),
                        );
                    }
                }
            }
            Node::Branch(_) => {
                // Conditions are compiled (and reported) by the caller.
            }
            Node::Http(http) => {
                if !http.method.eq_ignore_ascii_case("GET")
                    && !http.method.eq_ignore_ascii_case("POST")
                {
                    self.node_error(
                        name,
                        format!("method '{}' must be GET or POST", http.method),
                    );
                }
                let literal = template::literal_prefix(&http.url);
                let starts_with_template = literal.is_empty() && template::is_templated(&http.url);
                if !starts_with_template
                    && !literal.starts_with("http://")
                    && !literal.starts_with("https://")
                {
                    self.node_error(
                        name,
                        format!("url '{}' must start with http:// or https://", http.url),
                    );
                }
                self.check_positive(name, "timeout_ms", http.timeout_ms);
                if !http.result_prefix.is_empty() && !is_variable_name(&http.result_prefix) {
                    self.node_error(
                        name,
                        format!(
                            "result_prefix '{}' may only contain letters, digits, '_', '-' and '.'",
                            http.result_prefix
                        ),
                    );
                }
            }
            Node::Record(record) => {
                let literal = template::literal_prefix(&record.path);
                if record.path.trim().is_empty() {
                    self.node_error(name, "path must not be empty".to_string());
                } else if literal.starts_with('/') || literal.starts_with('\\') {
                    self.node_error(
                        name,
                        format!(
                            "path '{}' must be relative to the recordings folder",
                            record.path
                        ),
                    );
                } else if record
                    .path
                    .split(['/', '\\'])
                    .any(|segment| segment == "..")
                {
                    self.node_error(
                        name,
                        format!("path '{}' must not contain '..'", record.path),
                    );
                }
                self.check_positive(name, "max_seconds", record.max_seconds.into());
                self.check_positive(name, "silence_seconds", record.silence_seconds.into());
                for digit in record.stop_digits.chars() {
                    if !is_dtmf(digit) {
                        self.node_error(
                            name,
                            format!(
                                "stop_digits '{}' may only contain DTMF keys (0-9, *, #, A-D)",
                                record.stop_digits
                            ),
                        );
                        break;
                    }
                }
            }
            Node::Transfer(transfer) => match (&transfer.target, &transfer.queue) {
                (Some(_), Some(_)) => self.node_error(
                    name,
                    "has both target and queue; give exactly one".to_string(),
                ),
                (None, None) => self.node_error(
                    name,
                    "has neither target nor queue; give exactly one".to_string(),
                ),
                (Some(target), None) => {
                    if transfer.on_timeout.is_some() || transfer.on_callback.is_some() {
                        self.node_error(
                            name,
                            "on_timeout and on_callback only apply to a queue".to_string(),
                        );
                    }
                    let lower = target.to_ascii_lowercase();
                    if !lower.starts_with("sip:") && !lower.starts_with("sips:") {
                        self.node_error(
                            name,
                            format!("target '{target}' must start with sip: or sips:"),
                        );
                    }
                }
                (None, Some(queue)) => {
                    if queue.trim().is_empty() {
                        self.node_error(name, "queue must not be empty".to_string());
                    }
                }
            },
            Node::Hangup(hangup) => {
                if hangup.outcome.trim().is_empty() {
                    self.node_error(name, "outcome must not be empty".to_string());
                }
            }
        }
    }

    fn compile_regex(&mut self, node: &str, key: &str, pattern: &str) -> Option<Regex> {
        match Regex::new(pattern) {
            Ok(regex) => Some(regex),
            Err(error) => {
                let detail = error.to_string().replace('\n', " ");
                self.node_error(
                    node,
                    format!("{key} '{pattern}' is not a valid regular expression: {detail}"),
                );
                None
            }
        }
    }

    /// Checks one `when` entry and returns its compiled form when it is valid.
    fn compile_condition(
        &mut self,
        node: &str,
        index: usize,
        condition: &Condition,
    ) -> Option<Rule> {
        let label = format!("when #{}", index + 1);
        let errors_before = self.errors.len();
        let has_comparison = condition.equals.is_some()
            || condition.not_equals.is_some()
            || condition.matches.is_some();
        let variable = match &condition.variable {
            Some(variable) => {
                if !has_comparison {
                    self.node_error(
                        node,
                        format!(
                            "{label}: variable '{variable}' needs equals, not_equals or matches"
                        ),
                    );
                }
                let matches = match &condition.matches {
                    Some(pattern) => {
                        self.compile_regex(node, &format!("{label}: matches"), pattern)
                    }
                    None => None,
                };
                Some(VariableTest {
                    variable: variable.clone(),
                    equals: condition.equals.clone(),
                    not_equals: condition.not_equals.clone(),
                    matches,
                })
            }
            None => {
                if has_comparison {
                    self.node_error(
                        node,
                        format!("{label}: equals, not_equals and matches need a variable"),
                    );
                }
                None
            }
        };
        if let Some(prefixes) = &condition.caller_prefix {
            if prefixes.is_empty() {
                self.node_error(node, format!("{label}: caller_prefix must not be empty"));
            }
        }
        let days = condition.days.as_ref().map(|days| {
            if days.is_empty() {
                self.node_error(node, format!("{label}: days must not be empty"));
            }
            days.iter()
                .filter_map(|day| {
                    let parsed = parse_day(day);
                    if parsed.is_none() {
                        self.node_error(
                            node,
                            format!("{label}: day '{day}' is not a day name (mon, tue, wed, thu, fri, sat, sun)"),
                        );
                    }
                    parsed
                })
                .collect::<Vec<_>>()
        });
        let time = condition.time.as_ref().and_then(|text| {
            let parsed = TimeRange::parse(text);
            if parsed.is_none() {
                self.node_error(
                    node,
                    format!("{label}: time '{text}' is not a range like 09:00-17:00"),
                );
            }
            parsed
        });
        let tests_anything = condition.variable.is_some()
            || has_comparison
            || condition.caller_prefix.is_some()
            || condition.days.is_some()
            || condition.time.is_some()
            || condition.holiday.is_some();
        if !tests_anything {
            self.node_error(
                node,
                format!("{label} tests nothing; use `default` for the fallback route"),
            );
        }
        if self.errors.len() != errors_before {
            return None;
        }
        Some(Rule {
            variable,
            caller_prefixes: condition.caller_prefix.clone(),
            days,
            time,
            holiday: condition.holiday,
            goto: condition.goto.clone(),
        })
    }

    fn check_reachable(&mut self, start: &str, nodes: &BTreeMap<String, Node>) {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        seen.insert(start);
        queue.push_back(start);
        while let Some(current) = queue.pop_front() {
            if let Some(node) = nodes.get(current) {
                for (_, target) in node.targets() {
                    if nodes.contains_key(target) && seen.insert(target) {
                        queue.push_back(target);
                    }
                }
            }
        }
        for name in nodes.keys() {
            if !seen.contains(name.as_str()) {
                self.node_error(name, format!("is not reachable from start node '{start}'"));
            }
        }
    }

    /// Finds cycles made only of nodes that never wait for the caller, which
    /// would spin forever without the runtime guard.
    fn check_loops(&mut self, nodes: &BTreeMap<String, Node>) {
        let names: Vec<&str> = nodes
            .iter()
            .filter(|(_, node)| !node.waits_for_caller())
            .map(|(name, _)| name.as_str())
            .collect();
        let index_of: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(index, name)| (*name, index))
            .collect();
        let edges: Vec<Vec<usize>> = names
            .iter()
            .map(|name| {
                let mut targets: Vec<usize> = nodes
                    .get(*name)
                    .map(|node| {
                        node.targets()
                            .into_iter()
                            .filter_map(|(_, target)| index_of.get(target).copied())
                            .collect()
                    })
                    .unwrap_or_default();
                targets.sort_unstable();
                targets.dedup();
                targets
            })
            .collect();
        for component in strongly_connected_components(&edges) {
            let is_cycle = component.len() > 1
                || component
                    .first()
                    .is_some_and(|only| edges[*only].contains(only));
            if !is_cycle {
                continue;
            }
            let members: BTreeSet<usize> = component.iter().copied().collect();
            let Some(&first) = members.iter().next() else {
                continue;
            };
            let cycle = shortest_cycle(first, &edges, &members);
            let described = cycle
                .iter()
                .chain(std::iter::once(&first))
                .map(|index| names[*index])
                .collect::<Vec<_>>()
                .join(" -> ");
            self.node_error(
                names[first],
                format!("loop never waits for caller input: {described}"),
            );
        }
    }
}

/// Tarjan's algorithm, iterative so a long chain of nodes cannot overflow
/// the stack.
fn strongly_connected_components(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let count = edges.len();
    let mut index_of: Vec<Option<usize>> = vec![None; count];
    let mut lowest: Vec<usize> = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack: Vec<usize> = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    for root in 0..count {
        if index_of[root].is_some() {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index_of[root] = Some(next_index);
        lowest[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (node, ref mut edge)) = work.last_mut() {
            if let Some(&target) = edges[node].get(*edge) {
                *edge += 1;
                match index_of[target] {
                    None => {
                        index_of[target] = Some(next_index);
                        lowest[target] = next_index;
                        next_index += 1;
                        stack.push(target);
                        on_stack[target] = true;
                        work.push((target, 0));
                    }
                    Some(target_index) if on_stack[target] => {
                        lowest[node] = lowest[node].min(target_index);
                    }
                    Some(_) => {}
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                lowest[parent] = lowest[parent].min(lowest[node]);
            }
            if Some(lowest[node]) == index_of[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// The nodes of a shortest cycle from `start` back to itself, staying
/// inside `members`, starting with `start`.
fn shortest_cycle(start: usize, edges: &[Vec<usize>], members: &BTreeSet<usize>) -> Vec<usize> {
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(current) = queue.pop_front() {
        for &target in &edges[current] {
            if !members.contains(&target) {
                continue;
            }
            if target == start {
                let mut path = vec![current];
                let mut walker = current;
                while walker != start {
                    match parent.get(&walker) {
                        Some(&previous) => {
                            path.push(previous);
                            walker = previous;
                        }
                        None => break,
                    }
                }
                path.reverse();
                return path;
            }
            if target != start && !parent.contains_key(&target) {
                parent.insert(target, current);
                queue.push_back(target);
            }
        }
    }
    vec![start]
}
