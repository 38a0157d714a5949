//! Trunks that want REGISTER get it with digest credentials, refreshed before
//! the granted expiry and removed (Expires: 0) when the engine stops; a
//! campaign whose trunk answers 503 fails over to the backup trunk.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_with_digest_refreshes_and_unregisters() {
    let registrar_dir = tempfile::tempdir().unwrap();
    let (mut registrar, port) = sipp_server(
        "uas_registrar.xml",
        &[],
        &["-m", "1", "-trace_logs", "-timeout", "120s"],
        Some(registrar_dir.path()),
    );
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[[trunks]]\nname = \"main\"\nuri = \"sip:127.0.0.1:{port}\"\nusername = \"switchboard\"\npassword = \"s3cret\"\nregister = true\nregister_expires_secs = 60\n"
        ),
    )
    .unwrap();
    let engine = Engine::start_with(EngineOptions {
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;
    // The registrar grants 12 s, so a refresh comes about 9 s after the first.
    poll_until(Duration::from_secs(30), Some(&engine), async || {
        let log = trunk_log(&registrar_dir);
        if log
            .lines()
            .filter(|line| line.starts_with("REGISTERED"))
            .count()
            >= 2
        {
            return Ok(());
        }
        Err(format!("no refresh seen: {log}"))
    })
    .await;
    assert!(engine.log_text().contains("registered with trunk"));
    let (status, _dir) = engine.stop().await;
    assert!(status.success());
    let finished = tokio::time::timeout(Duration::from_secs(10), registrar.wait()).await;
    let log = trunk_log(&registrar_dir);
    assert!(
        log.contains("UNREGISTERED"),
        "no unregister on shutdown: {log}"
    );
    assert!(
        finished.is_ok_and(|status| status.is_ok_and(|s| s.success())),
        "registrar scenario failed"
    );
    // The refresh must reach the registrar before the granted 12 s run out
    // (counted to its arrival, not to the end of its digest exchange), and
    // not long before: the engine refreshes at three quarters of the
    // grant, leaving 3 s for a busy machine.
    let at = |kind: &str| -> Vec<u64> {
        log.lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                (parts.next()? == kind).then_some(())?;
                parts.next()?.parse().ok()
            })
            .collect()
    };
    let registered = at("REGISTERED")[0];
    let refresh = at("NEXT")[0];
    let gap = refresh - registered;
    assert!(
        (6_000..12_000).contains(&gap),
        "the refresh came {gap} ms after registering (granted 12 s): {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_trunk_fails_over_to_the_backup() {
    let down_dir = tempfile::tempdir().unwrap();
    let (_down, down_port) = sipp_server(
        "uas_trunk_unavailable.xml",
        &[],
        &["-m", "10", "-timeout", "120s"],
        Some(down_dir.path()),
    );
    let (mut backup, backup_port, backup_dir) = campaign_trunk();
    let plans = temp_dialplans(&[(
        "notice.toml",
        "[dialplan]\nname = \"notice\"\nstart = \"bye\"\n[nodes.bye]\ntype = \"hangup\"\nprompts = [\"goodbye\"]\noutcome = \"completed\"\n",
    )]);
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[routes]\n\"100\" = \"notice\"\n\n[[trunks]]\nname = \"primary\"\nuri = \"sip:127.0.0.1:{down_port}\"\nfailover = \"backup\"\n\n[[trunks]]\nname = \"backup\"\nuri = \"sip:127.0.0.1:{backup_port}\"\n"
        ),
    )
    .unwrap();
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        config: Some(config.clone()),
        ..EngineOptions::default()
    })
    .await;
    let list = config_dir.path().join("list.csv");
    std::fs::write(
        &list,
        format!("phone,tz\n+12125550101,{}\n", daytime_zone()),
    )
    .unwrap();
    switchboard_cli(
        &engine,
        &config,
        &[
            "campaign",
            "create",
            "failover",
            "--dialplan",
            "notice",
            "--trunk",
            "primary",
            "--caller-id",
            "+12125550000",
            "--no-amd",
        ],
    );
    switchboard_cli(
        &engine,
        &config,
        &[
            "campaign",
            "load",
            "failover",
            list.to_str().unwrap(),
            "--map",
            "phone=phone,timezone=tz",
        ],
    );
    switchboard_cli(&engine, &config, &["campaign", "start", "failover"]);
    engine
        .wait_for_campaign_state("failover", "finished", Duration::from_secs(60))
        .await;
    let store = engine.store().await;
    backup.kill().await.ok();
    let campaign = store.campaign("failover").await.unwrap().unwrap();
    let attempts = store.campaign_attempts(&campaign.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome.as_deref(), Some("completed"));
    assert!(engine.log_text().contains("trying its failover trunk"));
    let backup_log = trunk_log(&backup_dir);
    assert!(
        backup_log.contains("INVITE") && backup_log.contains("+12125550101"),
        "{backup_log}"
    );
}
