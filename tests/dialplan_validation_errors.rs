mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::{load_file, parse_and_validate, DialplanError};

/// A valid plan; each test breaks one thing in it.
const BASE: &str = r##"
[dialplan]
start = "welcome"
languages = ["en", "es"]
timezone = "America/New_York"
holidays = ["2026-12-25"]

[nodes.welcome]
type = "play"
prompts = ["welcome"]
next = "main_menu"

[nodes.main_menu]
type = "menu"
prompts = ["main_menu"]
choices = { "1" = "account", "2" = "hours", "3" = "lookup", "4" = "agent", "5" = "report", "6" = "language" }
fallback = "goodbye"

[nodes.language]
type = "language"
prompts = ["language_menu"]
choices = { "1" = "en", "2" = "es" }
next = "main_menu"

[nodes.account]
type = "collect"
prompts = ["account_prompt"]
variable = "account"
min_length = 4
max_length = 10
pattern = "^[0-9]+$"
next = "goodbye"
fallback = "goodbye"

[nodes.hours]
type = "branch"
default = "goodbye"
[[nodes.hours.when]]
days = ["mon"]
time = "09:00-17:00"
goto = "goodbye"

[nodes.lookup]
type = "http"
url = "http://127.0.0.1:8089/a/${account}"
next = "goodbye"
on_error = "goodbye"

[nodes.agent]
type = "transfer"
target = "sip:support@127.0.0.1"
on_failure = "goodbye"

[nodes.report]
type = "record"
path = "recordings/${call_id}.wav"
next = "goodbye"

[nodes.goodbye]
type = "hangup"
prompts = ["goodbye"]
"##;

fn broken(from: &str, to: &str) -> Vec<DialplanError> {
    assert!(BASE.contains(from), "test setup: {from:?} not in BASE");
    errors(&BASE.replacen(from, to, 1))
}

#[test]
fn base_plan_is_valid() {
    let plan = plan(BASE);
    assert_eq!(plan.name(), "test");
    assert_eq!(plan.start(), "welcome");
    assert_eq!(plan.default_language(), "en");
    assert_eq!(
        plan.languages(),
        ["en".to_string(), "es".to_string()].as_slice()
    );
    let used = plan.prompts_used();
    assert!(used.contains(&("es".to_string(), "main_menu".to_string())));
}

#[test]
fn display_names_file_node_and_reason() {
    let errors = broken(
        "\"1\" = \"account\"",
        "\"7\" = \"nowhere\", \"1\" = \"account\"",
    );
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(
            &"dialplans/demo.toml: node 'main_menu': choice '7' goes to unknown node 'nowhere'"
                .to_string()
        ),
        "{text:?}"
    );
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let errors = broken("next = \"main_menu\"\n", "next = \"main_menu\n");
    assert_eq!(errors.len(), 1);
    assert_error(&errors, None, "invalid TOML");
    assert_error(&errors, None, "line 11");
}

#[test]
fn unknown_key_is_an_error() {
    let errors = broken("type = \"play\"\n", "type = \"play\"\nvolume = 3\n");
    assert_error(&errors, Some("welcome"), "unknown field `volume`");
    assert_error(&errors, Some("welcome"), "line 8, column 1");
}

#[test]
fn unknown_top_level_table_is_an_error() {
    let errors = errors(&format!("{BASE}\n[extras]\nx = 1\n"));
    assert_error(&errors, None, "unknown field `extras`");
}

#[test]
fn unknown_node_type_is_an_error() {
    let errors = broken("type = \"play\"", "type = \"dance\"");
    assert_error(&errors, Some("welcome"), "unknown variant `dance`");
}

#[test]
fn missing_required_field_is_an_error() {
    let errors = broken(
        "fallback = \"goodbye\"\n\n[nodes.language]",
        "\n[nodes.language]",
    );
    assert_error(&errors, Some("main_menu"), "missing field `fallback`");
}

#[test]
fn several_problems_are_all_reported() {
    let text = BASE
        .replacen("type = \"play\"", "type = \"dance\"", 1)
        .replacen("on_failure = \"goodbye\"", "on_failure = \"nowhere\"", 1)
        .replacen("pattern = \"^[0-9]+$\"", "pattern = \"([\"", 1);
    let errors = errors(&text);
    assert_error(&errors, Some("welcome"), "unknown variant");
    assert_error(
        &errors,
        Some("agent"),
        "on_failure goes to unknown node 'nowhere'",
    );
    assert_error(&errors, Some("account"), "not a valid regular expression");
}

#[test]
fn missing_start_node() {
    let errors = broken("start = \"welcome\"", "start = \"hello\"");
    assert_error(&errors, None, "start node 'hello' does not exist");
}

#[test]
fn unknown_next() {
    let errors = broken("next = \"main_menu\"", "next = \"mian_menu\"");
    assert_error(
        &errors,
        Some("welcome"),
        "next goes to unknown node 'mian_menu'",
    );
}

#[test]
fn unknown_fallback_default_goto_and_on_error() {
    let errors = broken(
        "fallback = \"goodbye\"\n\n[nodes.language]",
        "fallback = \"gone\"\n\n[nodes.language]",
    );
    assert_error(
        &errors,
        Some("main_menu"),
        "fallback goes to unknown node 'gone'",
    );
    let errors = broken("default = \"goodbye\"", "default = \"gone\"");
    assert_error(
        &errors,
        Some("hours"),
        "default goes to unknown node 'gone'",
    );
    let errors = broken("goto = \"goodbye\"", "goto = \"gone\"");
    assert_error(
        &errors,
        Some("hours"),
        "when #1 goto goes to unknown node 'gone'",
    );
    let errors = broken("on_error = \"goodbye\"", "on_error = \"gone\"");
    assert_error(
        &errors,
        Some("lookup"),
        "on_error goes to unknown node 'gone'",
    );
}

#[test]
fn missing_prompt_in_one_language() {
    let mut catalog = Catalog::with(
        &["en", "es"],
        &strings(&[
            "welcome",
            "main_menu",
            "language_menu",
            "account_prompt",
            "goodbye",
        ]),
    );
    catalog.remove("es", "main_menu");
    let errors = parse_and_validate("dialplans/demo.toml", BASE, &catalog).expect_err("invalid");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_error(
        &errors,
        Some("main_menu"),
        "prompt 'main_menu' is missing for language 'es'",
    );
}

#[test]
fn templated_prompts_are_not_checked() {
    let catalog = Catalog::with(
        &["en", "es"],
        &strings(&[
            "welcome",
            "main_menu",
            "language_menu",
            "account_prompt",
            "goodbye",
        ]),
    );
    let text = BASE.replace(
        "prompts = [\"welcome\"]",
        "prompts = [\"welcome\", \"${greeting}\"]",
    );
    assert!(parse_and_validate("dialplans/demo.toml", &text, &catalog).is_ok());
}

#[test]
fn say_nodes_and_beep_need_their_prompts() {
    let catalog = Catalog::with(
        &["en", "es"],
        &strings(&[
            "welcome",
            "main_menu",
            "language_menu",
            "account_prompt",
            "goodbye",
        ]),
    );
    let text = BASE
        .replace(
            "type = \"record\"\n",
            "type = \"record\"\nbeep = true\n",
        )
        .replace(
            "[nodes.welcome]\ntype = \"play\"\nprompts = [\"welcome\"]\nnext = \"main_menu\"",
            "[nodes.welcome]\ntype = \"say_digits\"\nvalue = \"${reference}\"\nnext = \"main_menu\"",
        );
    let errors = parse_and_validate("dialplans/demo.toml", &text, &catalog).expect_err("invalid");
    assert_error(
        &errors,
        Some("report"),
        "prompt 'beep' is missing for language 'en'",
    );
    assert_error(&errors, Some("welcome"), "'digit_0', 'digit_1'");
}

#[test]
fn unreachable_node() {
    let errors = errors(&format!("{BASE}\n[nodes.orphan]\ntype = \"hangup\"\n"));
    assert_error(
        &errors,
        Some("orphan"),
        "is not reachable from start node 'welcome'",
    );
}

#[test]
fn loop_without_waiting_for_input() {
    let text = BASE.replacen("default = \"goodbye\"", "default = \"again\"", 1)
        + "\n[nodes.again]\ntype = \"play\"\nprompts = [\"welcome\"]\nnext = \"hours\"\n";
    let errors = errors(&text);
    assert_error(
        &errors,
        Some("again"),
        "loop never waits for caller input: again -> hours -> again",
    );
}

#[test]
fn loop_through_a_menu_is_fine() {
    let text = BASE.replacen(
        "next = \"goodbye\"\non_error",
        "next = \"main_menu\"\non_error",
        1,
    );
    plan(&text);
}

#[test]
fn bad_regex() {
    let errors = broken("pattern = \"^[0-9]+$\"", "pattern = \"[0-9\"");
    assert_error(
        &errors,
        Some("account"),
        "pattern '[0-9' is not a valid regular expression",
    );
    let errors = broken("days = [\"mon\"]", "variable = \"x\"\nmatches = \"(\"");
    assert_error(
        &errors,
        Some("hours"),
        "when #1: matches '(' is not a valid regular expression",
    );
}

#[test]
fn bad_time_zone() {
    let errors = broken("America/New_York", "America/Gotham");
    assert_error(
        &errors,
        None,
        "timezone 'America/Gotham' is not a known IANA time zone",
    );
}

#[test]
fn bad_holiday_date() {
    let errors = broken("\"2026-12-25\"", "\"2026-13-25\"");
    assert_error(
        &errors,
        None,
        "holiday '2026-13-25' is not a date in YYYY-MM-DD form",
    );
}

#[test]
fn bad_time_range() {
    let errors = broken("\"09:00-17:00\"", "\"9am-5pm\"");
    assert_error(
        &errors,
        Some("hours"),
        "when #1: time '9am-5pm' is not a range like 09:00-17:00",
    );
}

#[test]
fn bad_day_name() {
    let errors = broken("[\"mon\"]", "[\"mon\", \"funday\"]");
    assert_error(
        &errors,
        Some("hours"),
        "when #1: day 'funday' is not a day name",
    );
}

#[test]
fn menu_choice_key_not_single_dtmf() {
    let errors = broken("\"1\" = \"account\"", "\"12\" = \"account\"");
    assert_error(
        &errors,
        Some("main_menu"),
        "choice '12' is not a single DTMF key",
    );
}

#[test]
fn language_choice_not_in_languages() {
    let errors = broken("\"2\" = \"es\"", "\"2\" = \"fr\"");
    assert_error(
        &errors,
        Some("language"),
        "choice '2' selects language 'fr', which is not listed in languages",
    );
}

#[test]
fn default_language_not_in_languages() {
    let errors = broken(
        "languages = [\"en\", \"es\"]",
        "language = \"de\"\nlanguages = [\"en\", \"es\"]",
    );
    assert_error(
        &errors,
        None,
        "default language 'de' is not listed in languages",
    );
}

#[test]
fn min_length_greater_than_max_length() {
    let errors = broken("min_length = 4", "min_length = 12");
    assert_error(
        &errors,
        Some("account"),
        "min_length 12 is greater than max_length 10",
    );
}

#[test]
fn bad_terminator() {
    let errors = broken("min_length = 4", "min_length = 4\nterminator = \"##\"");
    assert_error(
        &errors,
        Some("account"),
        "terminator '##' must be a single DTMF key",
    );
    let errors = broken("min_length = 4", "min_length = 4\nterminator = \"x\"");
    assert_error(
        &errors,
        Some("account"),
        "terminator 'x' must be a single DTMF key",
    );
}

#[test]
fn transfer_with_both_or_neither_target_and_queue() {
    let errors = broken(
        "target = \"sip:support@127.0.0.1\"",
        "target = \"sip:a@b\"\nqueue = \"support\"",
    );
    assert_error(&errors, Some("agent"), "has both target and queue");
    let errors = broken("target = \"sip:support@127.0.0.1\"\n", "");
    assert_error(&errors, Some("agent"), "has neither target nor queue");
}

#[test]
fn transfer_target_must_be_sip() {
    let errors = broken("sip:support@127.0.0.1", "tel:+15551234");
    assert_error(
        &errors,
        Some("agent"),
        "target 'tel:+15551234' must start with sip: or sips:",
    );
    plan(&BASE.replace("sip:support@127.0.0.1", "sips:support@127.0.0.1"));
}

#[test]
fn zero_timeouts() {
    let errors = broken(
        "fallback = \"goodbye\"\n\n[nodes.language]",
        "fallback = \"goodbye\"\ntimeout_secs = 0\n\n[nodes.language]",
    );
    assert_error(
        &errors,
        Some("main_menu"),
        "timeout_secs must be greater than zero",
    );
    let errors = broken(
        "on_error = \"goodbye\"",
        "on_error = \"goodbye\"\ntimeout_ms = 0",
    );
    assert_error(
        &errors,
        Some("lookup"),
        "timeout_ms must be greater than zero",
    );
    let errors = broken(
        "min_length = 4",
        "min_length = 4\ninter_digit_timeout_secs = 0",
    );
    assert_error(
        &errors,
        Some("account"),
        "inter_digit_timeout_secs must be greater than zero",
    );
    let errors = broken(
        "next = \"goodbye\"\n\n[nodes.goodbye]",
        "next = \"goodbye\"\nmax_seconds = 0\n\n[nodes.goodbye]",
    );
    assert_error(
        &errors,
        Some("report"),
        "max_seconds must be greater than zero",
    );
}

#[test]
fn http_method_must_be_get_or_post() {
    let errors = broken("type = \"http\"", "type = \"http\"\nmethod = \"DELETE\"");
    assert_error(
        &errors,
        Some("lookup"),
        "method 'DELETE' must be GET or POST",
    );
}

#[test]
fn http_url_must_be_http() {
    let errors = broken(
        "http://127.0.0.1:8089/a/${account}",
        "ftp://127.0.0.1/${account}",
    );
    assert_error(
        &errors,
        Some("lookup"),
        "must start with http:// or https://",
    );
    // A URL that starts with a template cannot be checked at load time.
    plan(&BASE.replace("http://127.0.0.1:8089/a/${account}", "${base_url}/a"));
}

#[test]
fn record_path_must_stay_inside_the_recordings_folder() {
    let errors = broken("recordings/${call_id}.wav", "/tmp/${call_id}.wav");
    assert_error(
        &errors,
        Some("report"),
        "must be relative to the recordings folder",
    );
    let errors = broken("recordings/${call_id}.wav", "../${call_id}.wav");
    assert_error(&errors, Some("report"), "must not contain '..'");
}

#[test]
fn negative_number_is_a_shape_error() {
    let errors = broken("min_length = 4", "min_length = -4");
    assert_error(
        &errors,
        Some("account"),
        "line 25, column 1: invalid value: integer `-4`, expected u32",
    );
}

#[test]
fn read_failure_is_a_dialplan_error() {
    let path = std::path::Path::new("/nonexistent/dialplans/none.toml");
    let errors = load_file(path, &EveryPrompt).expect_err("cannot read");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, "/nonexistent/dialplans/none.toml");
    assert!(errors[0].reason.starts_with("cannot read file"));
}

#[test]
fn load_file_reads_the_demo_and_names_it_after_the_plan() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dialplans/hotline.toml"
    ));
    let catalog = Catalog::with(&["en", "es"], &hotline_prompt_names());
    let plan = load_file(path, &catalog).expect("valid");
    assert_eq!(plan.name(), "hotline");
}
