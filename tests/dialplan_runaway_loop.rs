mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::Action;

/// A cycle of nodes that never wait: validation rejects it at load time.
const PLAN: &str = r#"
[dialplan]
start = "menu"

[nodes.menu]
type = "menu"
prompts = ["main_menu"]
choices = { "1" = "count" }
fallback = "bye"

[nodes.count]
type = "branch"
default = "menu"
[[nodes.count.when]]
variable = "spin"
equals = "yes"
goto = "again"

[nodes.again]
type = "set"
variables = { spin = "yes" }
next = "count"

[nodes.bye]
type = "hangup"
"#;

#[test]
fn validation_rejects_a_loop_that_never_waits() {
    let errors = switchboard::dialplan::parse_and_validate("x.toml", PLAN, &EveryPrompt)
        .expect_err("loop is rejected");
    assert!(errors.iter().any(|error| error.reason.contains("loop")));
}

#[test]
fn guard_limit_is_enforced() {
    // A legal chain longer than the limit: set nodes never wait and there is
    // no cycle, so validation accepts it and only the runtime guard stops it.
    let mut text = String::from("[dialplan]\nstart = \"n0\"\n\n");
    let count = switchboard::dialplan::interpreter::MAX_TRANSITIONS_WITHOUT_EVENT + 5;
    for index in 0..count {
        text.push_str(&format!(
            "[nodes.n{index}]\ntype = \"set\"\nvariables = {{ step = \"{index}\" }}\nnext = \"n{}\"\n\n",
            index + 1
        ));
    }
    text.push_str(&format!("[nodes.n{count}]\ntype = \"hangup\"\n"));
    let (call, actions) = Call::start(plan(&text));
    assert!(effects(&actions).contains(&Action::Hangup {
        outcome: "dialplan_loop".to_string()
    }));
    assert_eq!(call.session.outcome(), Some("dialplan_loop"));
}
