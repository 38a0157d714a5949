mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::TimelineKind;

const PLAN: &str = r#"
[dialplan]
start = "language"
language = "en"
languages = ["en", "es"]

[nodes.language]
type = "language"
prompts = ["language_menu"]
choices = { "1" = "en", "2" = "es" }
next = "main"
max_retries = 1
invalid_prompt = "invalid"
fallback = "main"

[nodes.main]
type = "play"
prompts = ["main_menu", "${greeting}"]
next = "bye"

[nodes.bye]
type = "hangup"
"#;

#[test]
fn choosing_spanish_changes_prompt_language() {
    let (mut call, actions) = Call::start(plan(PLAN));
    assert_eq!(played_languages(&actions), strings(&["en"]));
    call.finish_playback();
    let actions = call.press("2");
    assert!(has_log(&actions, TimelineKind::Language));
    assert_eq!(call.session.variables()["language"], "es");
    assert_eq!(played(&actions), strings(&["main_menu"]));
    assert_eq!(played_languages(&actions), strings(&["es"]));
}

#[test]
fn fallback_keeps_the_default_language() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    call.press("9");
    call.finish_playback();
    let actions = call.press("9");
    assert_eq!(call.session.current_node(), "main");
    assert_eq!(call.session.variables()["language"], "en");
    assert_eq!(played_languages(&actions), strings(&["en"]));
}

#[test]
fn templated_prompt_names_are_rendered_and_sanitised() {
    let text = PLAN.replace(
        "[nodes.language]",
        "[variables]\ngreeting = \"../secret\"\n\n[nodes.language]",
    );
    let (mut call, _) = Call::start(plan(&text));
    call.finish_playback();
    let actions = call.press("1");
    let names = played(&actions);
    assert_eq!(names.len(), 2);
    assert!(
        !names[1].contains('/') && !names[1].contains(".."),
        "{names:?}"
    );
}

#[test]
fn a_language_set_to_an_unknown_value_falls_back_to_the_default() {
    let text = r#"
[dialplan]
start = "set"
languages = ["en", "es"]

[nodes.set]
type = "set"
variables = { language = "klingon" }
next = "hello"

[nodes.hello]
type = "hangup"
prompts = ["goodbye"]
"#;
    let (_call, actions) = Call::start(plan(text));
    assert_eq!(played_languages(&actions), strings(&["en"]));
}
