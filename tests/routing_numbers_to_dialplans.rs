//! Several dialplans load side by side and each called number reaches the
//! plan the config routes it to; other numbers get 404.

mod common;

use common::*;

const SALES: &str = r#"
[dialplan]
name = "sales"
start = "bye"
[nodes.bye]
type = "hangup"
prompts = ["goodbye"]
outcome = "sales_done"
"#;

const SUPPORT: &str = r#"
[dialplan]
name = "support"
start = "bye"
[nodes.bye]
type = "hangup"
prompts = ["survey_thanks"]
outcome = "support_done"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_number_reaches_its_dialplan() {
    let plans = temp_dialplans(&[("sales.toml", SALES), ("support.toml", SUPPORT)]);
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        "[routes]\n\"200\" = \"sales\"\n\"300\" = \"support\"\n",
    )
    .unwrap();
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;

    for (number, scenario) in [
        ("200", "uac_wait_for_bye.xml"),
        ("300", "uac_wait_for_bye.xml"),
        ("100", "uac_expect_404.xml"),
    ] {
        let sipp = Sipp::spawn(
            engine.sip,
            scenario,
            number,
            &[("rtp_port", free_udp_port().to_string())],
        );
        assert_sipp_passes(sipp, &engine).await;
    }
    let calls = engine.ended_calls(2).await;
    let outcome_of = |number: &str| {
        let call = calls
            .iter()
            .find(|c| c.called == number)
            .expect("call logged");
        (
            call.dialplan.clone().unwrap_or_default(),
            call.outcome.clone().unwrap_or_default(),
        )
    };
    assert_eq!(
        outcome_of("200"),
        ("sales".to_string(), "sales_done".to_string())
    );
    assert_eq!(
        outcome_of("300"),
        ("support".to_string(), "support_done".to_string())
    );
    assert_eq!(calls.len(), 2, "the 404 call leaves no row");
}
