mod dialplan_common;

use dialplan_common::*;

const PLAN: &str = r#"
[dialplan]
start = "set_vip"

[variables]
tier = "gold"
count = 3

[nodes.set_vip]
type = "set"
variables = { vip = "yes", greeting = "hello ${caller} from ${tier}", price = "$$5", unknown = "[${nothing}]" }
next = "bye"

[nodes.bye]
type = "hangup"
"#;

#[test]
fn built_in_plan_and_set_variables() {
    let (call, _) = Call::start(plan(PLAN));
    let variables = call.session.variables();
    assert_eq!(variables["caller"], "+15551234567");
    assert_eq!(variables["called"], "+18005550100");
    assert_eq!(variables["call_id"], "call-1");
    assert_eq!(variables["reference"], "4207");
    assert_eq!(variables["language"], "en");
    assert_eq!(variables["tier"], "gold");
    assert_eq!(variables["count"], "3");
    assert_eq!(variables["vip"], "yes");
    assert_eq!(variables["greeting"], "hello +15551234567 from gold");
    assert_eq!(variables["price"], "$5");
    assert_eq!(variables["unknown"], "[]");
    assert_eq!(call.session.path(), strings(&["set_vip", "bye"]).as_slice());
}
