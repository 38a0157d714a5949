mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::numbers::{digit_prompts, number_prompts};

fn en(value: &str) -> Vec<String> {
    number_prompts(value, "en")
}

fn es(value: &str) -> Vec<String> {
    number_prompts(value, "es")
}

#[test]
fn english_numbers() {
    assert_eq!(en("0"), strings(&["num_0"]));
    assert_eq!(en("7"), strings(&["num_7"]));
    assert_eq!(en("21"), strings(&["num_21"]));
    assert_eq!(en("30"), strings(&["num_30"]));
    assert_eq!(en("35"), strings(&["num_30", "num_5"]));
    assert_eq!(en("100"), strings(&["num_100"]));
    assert_eq!(en("101"), strings(&["num_hundred_prefix", "num_1"]));
    assert_eq!(
        en("135"),
        strings(&["num_hundred_prefix", "num_30", "num_5"])
    );
    assert_eq!(en("235"), strings(&["num_200", "num_30", "num_5"]));
    assert_eq!(en("1000"), strings(&["num_1", "num_thousand"]));
    assert_eq!(en("1200"), strings(&["num_1", "num_thousand", "num_200"]));
    assert_eq!(en("21000"), strings(&["num_21", "num_thousand"]));
    assert_eq!(
        en("999999"),
        strings(&[
            "num_900",
            "num_90",
            "num_9",
            "num_thousand",
            "num_900",
            "num_90",
            "num_9"
        ])
    );
}

#[test]
fn spanish_numbers() {
    assert_eq!(es("21"), strings(&["num_21"]));
    assert_eq!(es("29"), strings(&["num_29"]));
    assert_eq!(es("35"), strings(&["num_30", "num_and", "num_5"]));
    assert_eq!(es("100"), strings(&["num_100"]));
    assert_eq!(
        es("135"),
        strings(&["num_hundred_prefix", "num_30", "num_and", "num_5"])
    );
    assert_eq!(es("1000"), strings(&["num_thousand"]));
    assert_eq!(es("1200"), strings(&["num_thousand", "num_200"]));
    assert_eq!(
        es("1999"),
        strings(&["num_thousand", "num_900", "num_90", "num_and", "num_9"])
    );
    assert_eq!(es("2000"), strings(&["num_2", "num_thousand"]));
    assert_eq!(es("21000"), strings(&["num_21", "num_thousand"]));
    assert_eq!(es("100000"), strings(&["num_100", "num_thousand"]));
}

#[test]
fn other_languages_use_english_rules() {
    assert_eq!(number_prompts("35", "fr"), strings(&["num_30", "num_5"]));
    assert_eq!(
        number_prompts("35", "es-MX"),
        strings(&["num_30", "num_and", "num_5"])
    );
}

#[test]
fn unreadable_values_are_read_as_digits() {
    assert_eq!(en(""), Vec::<String>::new());
    assert_eq!(
        en("1000000"),
        strings(&["digit_1", "digit_0", "digit_0", "digit_0", "digit_0", "digit_0", "digit_0"])
    );
    assert_eq!(en("-5"), strings(&["digit_5"]));
    assert_eq!(en("12.5"), strings(&["digit_1", "digit_2", "digit_5"]));
    assert_eq!(
        en("99999999999999999999999"),
        digit_prompts("99999999999999999999999")
    );
    assert_eq!(
        digit_prompts("1*#a"),
        strings(&["digit_1", "digit_star", "digit_pound"])
    );
}

#[test]
fn say_nodes_play_the_computed_prompts() {
    let text = r#"
[dialplan]
start = "number"
languages = ["en", "es"]

[variables]
amount = "135"

[nodes.number]
type = "say_number"
value = "${amount}"
next = "digits"

[nodes.digits]
type = "say_digits"
value = "${reference}"
next = "empty"

[nodes.empty]
type = "say_number"
value = "${nothing}"
next = "bye"

[nodes.bye]
type = "hangup"
"#;
    let (mut call, actions) = Call::start(plan(text));
    assert_eq!(
        played(&actions),
        strings(&["num_hundred_prefix", "num_30", "num_5"])
    );
    let actions = call.finish_playback();
    assert_eq!(
        played(&actions),
        strings(&["digit_4", "digit_2", "digit_0", "digit_7"])
    );
    // An empty value plays nothing and moves straight on.
    call.finish_playback();
    assert_eq!(call.session.outcome(), Some("completed"));
    assert_eq!(
        call.session.path(),
        strings(&["number", "digits", "empty", "bye"]).as_slice()
    );
}
