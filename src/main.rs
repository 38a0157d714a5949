//! The `switchboard` command: run the engine, check dialplans, read the call log.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use switchboard::config::{Config, LogFormat};
use switchboard::engine::Engine;
use switchboard::media::prompts::PromptLibrary;
use switchboard::plans::{plan_files, LoadingCatalog};
use switchboard::store::Store;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "IVR, dialer and contact-centre engine"
)]
struct Cli {
    /// TOML configuration file (optional; defaults run the demo hotline).
    #[arg(long, short, global = true, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (overrides the config), e.g. sqlite://switchboard.db
    #[arg(long, global = true, env = "SWITCHBOARD_DATABASE")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine: SIP on UDP and TCP, dialplans, call log.
    Serve {
        /// SIP listen address for UDP and TCP (default 0.0.0.0:5060).
        #[arg(long)]
        sip_listen: Option<SocketAddr>,
        /// REST API listen address (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long)]
        http_listen: Option<SocketAddr>,
        /// Address to put in SDP and Contact (the public address behind NAT).
        #[arg(long)]
        advertise: Option<IpAddr>,
        #[arg(long)]
        dialplans: Option<PathBuf>,
        #[arg(long)]
        prompts: Option<PathBuf>,
        #[arg(long)]
        recordings: Option<PathBuf>,
        /// RTP port range, e.g. 10000-20000.
        #[arg(long)]
        rtp_ports: Option<String>,
        /// How long calls ring before the engine answers, in ms.
        #[arg(long)]
        answer_delay_ms: Option<u64>,
        /// text or json
        #[arg(long)]
        log_format: Option<String>,
        /// Show phone numbers in logs instead of masking them.
        #[arg(long)]
        show_phone_numbers: bool,
    },
    /// Place one call through a trunk and run a dialplan when it is answered
    /// (a test call: prints how it went, exits when it ends).
    Dial {
        /// The number to call (E.164, e.g. +15551234567).
        number: String,
        /// Trunk name from the config's [[trunks]].
        #[arg(long)]
        trunk: String,
        /// Dialplan to run when answered.
        #[arg(long, default_value = "hotline")]
        dialplan: String,
        /// Caller ID (defaults to the trunk's).
        #[arg(long)]
        caller_id: Option<String>,
        /// CANCEL after ringing this many seconds.
        #[arg(long, default_value_t = 25)]
        ring_timeout: u64,
        /// Local SIP address for this call (default: any address, a free port).
        #[arg(long, default_value = "0.0.0.0:0")]
        sip_listen: SocketAddr,
        #[arg(long)]
        dialplans: Option<PathBuf>,
        #[arg(long)]
        prompts: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Detect answering machines on answer.
        #[arg(long)]
        amd: bool,
        /// With --amd: dialplan to run after a machine's beep (else hang up).
        #[arg(long)]
        machine_dialplan: Option<String>,
    },
    /// Outbound campaigns: create, load a list, start, pause, status, export.
    Campaign {
        #[command(subcommand)]
        action: CampaignAction,
    },
    /// The do-not-call list: numbers no campaign ever dials.
    Dnc {
        #[command(subcommand)]
        action: DncAction,
    },
    /// Dialplan tools.
    Dialplan {
        #[command(subcommand)]
        action: DialplanAction,
    },
    /// Recent calls from the call log.
    Calls {
        /// How many calls to list.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Show one call (by id or SIP Call-ID) with its timeline.
        #[arg(long)]
        show: Option<String>,
    },
}

// Parsed once per run; the size of the biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum CampaignAction {
    /// Create a campaign (state draft). Settings not given take safe defaults.
    Create {
        name: String,
        /// Dialplan run when a person answers (not needed with --mode
        /// progressive or predictive: people go to the queue's agents).
        #[arg(long)]
        dialplan: Option<String>,
        /// Trunk name from the config's [[trunks]].
        #[arg(long)]
        trunk: String,
        #[arg(long)]
        caller_id: String,
        /// Local calling hours, e.g. 09:00-20:00 (may only narrow 08:00-21:00).
        #[arg(long)]
        window: Option<String>,
        /// Allowed days, e.g. mon,tue,wed,thu,fri.
        #[arg(long, value_delimiter = ',')]
        days: Vec<String>,
        /// Dates nobody is called, e.g. 2026-12-25,2027-01-01.
        #[arg(long, value_delimiter = ',')]
        holidays: Vec<chrono::NaiveDate>,
        #[arg(long)]
        max_attempts: Option<u32>,
        #[arg(long)]
        max_attempts_per_number_per_day: Option<u32>,
        /// Retry delays by outcome, e.g. busy=10m,no_answer=2h,machine=4h,failed=30m.
        #[arg(long)]
        retry: Option<String>,
        #[arg(long)]
        max_concurrent: Option<u32>,
        #[arg(long)]
        calls_per_second: Option<f64>,
        #[arg(long)]
        ring_timeout: Option<u64>,
        /// Country for numbers without a country code (ISO code, e.g. US, ES).
        #[arg(long)]
        region: Option<String>,
        /// Turn answering-machine detection off (on by default).
        #[arg(long)]
        no_amd: bool,
        /// Dialplan to run after a machine's beep (default: hang up on machines).
        #[arg(long)]
        machine_dialplan: Option<String>,
        /// unattended (the dialplan takes answered calls; default),
        /// progressive or predictive (agents in --queue take them).
        #[arg(long)]
        mode: Option<switchboard::dialer::campaign::DialMode>,
        /// The agents' queue, for progressive and predictive campaigns.
        #[arg(long)]
        queue: Option<String>,
        /// Abandonment cap in percent of calls a person answered (default 3).
        #[arg(long)]
        max_abandon_percent: Option<f64>,
        /// Prompt for a person no agent could take within 2 s (default safe_harbor).
        #[arg(long)]
        safe_harbor: Option<String>,
        /// Record agent calls in stereo (caller left, agent right).
        #[arg(long)]
        record: bool,
    },
    /// Load a CSV list; bad rows are reported with their line numbers.
    Load {
        name: String,
        file: PathBuf,
        /// Column mapping, e.g. phone=Mobile,name=Full Name,timezone=TZ.
        #[arg(long, default_value = "phone=phone")]
        map: String,
    },
    /// Start dialling (the running `serve` picks it up within a second).
    Start {
        name: String,
    },
    Pause {
        name: String,
    },
    Resume {
        name: String,
    },
    /// Finish the campaign: no more dialling.
    Stop {
        name: String,
    },
    /// Leads by state and attempts by outcome.
    Status {
        name: String,
        #[arg(long)]
        json: bool,
    },
    List,
    /// Every attempt as CSV (to a file, or standard output).
    Export {
        name: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DncAction {
    Add {
        number: String,
        #[arg(long, default_value = "US")]
        region: String,
    },
    Remove {
        number: String,
        #[arg(long, default_value = "US")]
        region: String,
    },
    Check {
        number: String,
        #[arg(long, default_value = "US")]
        region: String,
    },
    /// Import numbers, one per line (or the first CSV column).
    Import {
        file: PathBuf,
        #[arg(long, default_value = "US")]
        region: String,
    },
}

#[derive(Subcommand)]
enum DialplanAction {
    /// Validate dialplan files (or every *.toml in a folder) and print every problem.
    Check {
        paths: Vec<PathBuf>,
        /// Prompts folder to check prompt names against.
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match &cli.config {
        Some(path) => match Config::from_file(path) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(url) = &cli.database {
        config.database.url.clone_from(url);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve {
            sip_listen,
            http_listen,
            advertise,
            dialplans,
            prompts,
            recordings,
            rtp_ports,
            answer_delay_ms,
            log_format,
            show_phone_numbers,
        } => {
            if let Some(address) = sip_listen {
                config.sip.listen = address;
            }
            if let Some(address) = http_listen {
                config.http.listen = address;
            }
            if advertise.is_some() {
                config.sip.advertised_address = advertise;
            }
            if let Some(path) = dialplans {
                config.paths.dialplans = path;
            }
            if let Some(path) = prompts {
                config.paths.prompts = path;
            }
            if let Some(path) = recordings {
                config.paths.recordings = path;
            }
            if let Some(delay) = answer_delay_ms {
                config.sip.answer_delay_ms = delay;
            }
            if show_phone_numbers {
                config.log.show_phone_numbers = true;
            }
            if let Some(format) = log_format {
                config.log.format = match format.as_str() {
                    "json" => LogFormat::Json,
                    "text" => LogFormat::Text,
                    other => {
                        eprintln!("error: --log-format {other}: use text or json");
                        return ExitCode::from(2);
                    }
                };
            }
            if let Some(range) = rtp_ports {
                match parse_port_range(&range) {
                    Some((min, max)) => {
                        config.rtp.port_min = min;
                        config.rtp.port_max = max;
                    }
                    None => {
                        eprintln!("error: --rtp-ports {range}: use MIN-MAX, e.g. 10000-20000");
                        return ExitCode::from(2);
                    }
                }
            }
            if let Err(error) = config.validate() {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
            init_logging(&config);
            runtime.block_on(serve(config))
        }
        Command::Dial {
            number,
            trunk,
            dialplan,
            caller_id,
            ring_timeout,
            sip_listen,
            dialplans,
            prompts,
            json,
            amd,
            machine_dialplan,
        } => {
            config.sip.listen = sip_listen;
            // A one-off call needs no REST API (and must not take a running
            // `serve`'s port).
            config.http.enabled = false;
            if let Some(path) = dialplans {
                config.paths.dialplans = path;
            }
            if let Some(path) = prompts {
                config.paths.prompts = path;
            }
            init_logging(&config);
            let Some(trunk) = config.trunks.iter().find(|t| t.name == trunk).cloned() else {
                eprintln!(
                    "error: no trunk named '{trunk}' in the config (trunks: {:?})",
                    config.trunks.iter().map(|t| &t.name).collect::<Vec<_>>()
                );
                return ExitCode::from(2);
            };
            let Some(caller_id) = caller_id.or_else(|| trunk.caller_id.clone()) else {
                eprintln!(
                    "error: no caller ID: pass --caller-id or set caller_id on trunk '{}'",
                    trunk.name
                );
                return ExitCode::from(2);
            };
            let request = switchboard::call::OriginateRequest {
                target: trunk.target_for(&number),
                number,
                caller_id,
                credential: trunk.credential(),
                plan_name: dialplan,
                variables: Default::default(),
                ring_timeout: Duration::from_secs(ring_timeout),
                headers: Vec::new(),
                amd: amd.then(|| switchboard::call::AmdOptions {
                    config: switchboard::media::amd::AmdConfig::default(),
                    machine_plan: machine_dialplan,
                    beep_wait: Duration::from_secs(20),
                }),
                agents: None,
            };
            runtime.block_on(dial_once(config, request, json))
        }
        Command::Dialplan {
            action: DialplanAction::Check { paths, prompts },
        } => {
            let prompts = prompts.unwrap_or_else(|| config.paths.prompts.clone());
            return check_dialplans(&paths, &prompts);
        }
        Command::Campaign { action } => runtime.block_on(campaign_command(&config, action)),
        Command::Dnc { action } => runtime.block_on(dnc_command(&config.database.url, action)),
        Command::Calls { limit, json, show } => {
            runtime.block_on(list_calls(&config.database.url, limit, json, show))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let (min, max) = text.split_once('-')?;
    Some((min.trim().parse().ok()?, max.trim().parse().ok()?))
}

fn init_logging(config: &Config) {
    switchboard::pii::show_phone_numbers(config.log.show_phone_numbers);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let engine = Engine::start(config).await?;
    match engine.http_address() {
        Some(http) => tracing::info!(
            sip = %engine.sip_address(),
            %http,
            "Switchboard is running; Ctrl-C to stop"
        ),
        None => {
            tracing::info!(sip = %engine.sip_address(), "Switchboard is running; Ctrl-C to stop")
        }
    }
    wait_for_stop_signal().await;
    engine.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

async fn dial_once(
    config: Config,
    request: switchboard::call::OriginateRequest,
    json: bool,
) -> anyhow::Result<()> {
    let engine = Engine::start_as(config, switchboard::engine::Role::OneCall).await?;
    let report = engine.originate(request).await;
    engine.shutdown(Duration::from_secs(5)).await;
    let end = &report.end;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": report.id,
                "sip_call_id": report.sip_call_id,
                "final_status": report.final_status,
                "answered": report.answered_at.is_some(),
                "outcome": end.outcome,
                "hangup_by": end.hangup_by,
                "hangup_cause": end.hangup_cause,
                "path": end.path,
                "digits": end.digits,
                "amd": report.amd.as_ref().map(|amd| serde_json::json!({
                    "verdict": format!("{:?}", amd.verdict).to_lowercase(),
                    "confidence": amd.confidence,
                    "reasons": amd.reasons,
                })),
            })
        );
    } else if report.answered_at.is_some() {
        println!(
            "answered; outcome {}, hung up by {} ({}), path {}",
            end.outcome.as_deref().unwrap_or("-"),
            end.hangup_by,
            end.hangup_cause,
            end.path.join(" > ")
        );
    } else {
        println!(
            "not answered: {} ({}), outcome {}",
            report.final_status,
            end.hangup_cause,
            end.outcome.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = match signal(SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                tokio::signal::ctrl_c().await.ok();
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.ok();
}

fn check_dialplans(paths: &[PathBuf], prompts_dir: &Path) -> ExitCode {
    let mut files = Vec::new();
    let paths = if paths.is_empty() {
        vec![PathBuf::from("dialplans")]
    } else {
        paths.to_vec()
    };
    for path in &paths {
        if path.is_dir() {
            match plan_files(path) {
                Ok(found) => files.extend(found),
                Err(error) => {
                    eprintln!("{}: cannot read folder: {error}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    let library = PromptLibrary::new(prompts_dir);
    let catalog = LoadingCatalog(&library);
    let mut problems = 0;
    for file in &files {
        match switchboard::dialplan::load_file(file, &catalog) {
            Ok(plan) => println!(
                "ok    {} (dialplan '{}', {} nodes)",
                file.display(),
                plan.name(),
                plan.nodes().len()
            ),
            Err(errors) => {
                problems += errors.len();
                for error in errors {
                    println!("error {error}");
                }
            }
        }
    }
    if problems > 0 {
        println!("{problems} problem(s) in {} file(s)", files.len());
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn campaign_command(config: &Config, action: CampaignAction) -> anyhow::Result<()> {
    use switchboard::campaign_cli;
    let store = Store::open(&config.database.url).await?;
    match action {
        CampaignAction::Create {
            name,
            dialplan,
            trunk,
            caller_id,
            window,
            days,
            holidays,
            max_attempts,
            max_attempts_per_number_per_day,
            retry,
            max_concurrent,
            calls_per_second,
            ring_timeout,
            region,
            no_amd,
            machine_dialplan,
            mode,
            queue,
            max_abandon_percent,
            safe_harbor,
            record,
        } => {
            if !config.trunks.iter().any(|t| t.name == trunk) {
                eprintln!(
                    "warning: trunk '{trunk}' is not in this config; the engine must have it to dial"
                );
            }
            let defaults = switchboard::dialer::campaign::CampaignSettings::default();
            let settings = switchboard::dialer::campaign::CampaignSettings {
                calling_window: window.unwrap_or(defaults.calling_window),
                days,
                holidays,
                max_attempts: max_attempts.unwrap_or(defaults.max_attempts),
                max_attempts_per_number_per_day: max_attempts_per_number_per_day
                    .unwrap_or(defaults.max_attempts_per_number_per_day),
                retry: retry.unwrap_or(defaults.retry),
                max_concurrent: max_concurrent.unwrap_or(defaults.max_concurrent),
                calls_per_second: calls_per_second.unwrap_or(defaults.calls_per_second),
                ring_timeout_secs: ring_timeout.unwrap_or(defaults.ring_timeout_secs),
                default_region: region.unwrap_or(defaults.default_region),
                amd: !no_amd,
                amd_max_ms: defaults.amd_max_ms,
                machine_dialplan,
                mode: mode.unwrap_or(defaults.mode),
                queue,
                max_abandon_percent: max_abandon_percent.unwrap_or(defaults.max_abandon_percent),
                safe_harbor: safe_harbor.unwrap_or(defaults.safe_harbor),
                record,
            };
            let record = campaign_cli::create(
                &store,
                &name,
                dialplan.as_deref().unwrap_or_default(),
                &trunk,
                &caller_id,
                &settings,
            )
            .await?;
            println!(
                "created campaign '{}' ({}), state draft",
                record.name, record.id
            );
        }
        CampaignAction::Load { name, file, map } => {
            let mapping = switchboard::dialer::list::ColumnMapping::parse(&map)?;
            let started = std::time::Instant::now();
            // A progress bar on a terminal; nothing when stderr is a pipe or file.
            let total = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(format!(
                "loading {} ({} MB)",
                file.display(),
                total / 1_000_000
            ));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let progress = bar.clone();
            let report = campaign_cli::load_file(&store, &name, &file, &mapping, move |rows| {
                progress.set_message(format!("{rows} rows read"));
            })
            .await;
            bar.finish_and_clear();
            let report = report?;
            let (summary, already) = (&report.summary, &report.already_in_campaign);
            for problem in &summary.problems {
                println!("{problem}");
            }
            for (line, number) in already {
                println!("line {line}: {number} is already in this campaign");
            }
            let hidden = summary.problem_count() as usize - summary.problems.len();
            if hidden > 0 {
                println!("... and {hidden} more problems");
            }
            println!(
                "{} rows: {} loaded, {} problems {:?}, {} already in the campaign ({:.1} s)",
                summary.rows,
                report.added(),
                summary.problem_count(),
                summary.problems_by_kind,
                already.len(),
                started.elapsed().as_secs_f64()
            );
        }
        CampaignAction::Start { name } => state_change(&store, &name, "start").await?,
        CampaignAction::Pause { name } => state_change(&store, &name, "pause").await?,
        CampaignAction::Resume { name } => state_change(&store, &name, "resume").await?,
        CampaignAction::Stop { name } => state_change(&store, &name, "stop").await?,
        CampaignAction::List => {
            for campaign in store.campaigns().await? {
                println!(
                    "{:<20} {:<9} dialplan {:<12} trunk {:<10} caller ID {}",
                    campaign.name,
                    campaign.state,
                    campaign.dialplan,
                    campaign.trunk,
                    campaign.caller_id
                );
            }
        }
        CampaignAction::Status { name, json } => {
            let Some(campaign) = store.campaign(&name).await? else {
                anyhow::bail!("no campaign named '{name}'");
            };
            let counts = store.campaign_counts(&campaign.id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "name": campaign.name,
                        "state": campaign.state,
                        "leads": counts.leads_by_state.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                        "attempts": counts.attempts_by_outcome.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                        "in_progress": counts.attempts_in_progress,
                    })
                );
            } else {
                println!("campaign {} ({})", campaign.name, campaign.state);
                println!("leads:");
                for (state, count) in &counts.leads_by_state {
                    println!("  {state:<16} {count}");
                }
                println!("attempts ({} in progress):", counts.attempts_in_progress);
                for (outcome, count) in &counts.attempts_by_outcome {
                    println!("  {outcome:<16} {count}");
                }
            }
        }
        CampaignAction::Export { name, output } => {
            let count = match output {
                Some(path) => {
                    let mut file = std::fs::File::create(&path)?;
                    campaign_cli::export(&store, &name, &mut file).await?
                }
                None => campaign_cli::export(&store, &name, &mut std::io::stdout()).await?,
            };
            eprintln!("{count} attempts exported");
        }
    }
    Ok(())
}

async fn state_change(store: &Store, name: &str, action: &str) -> anyhow::Result<()> {
    let state = switchboard::campaign_cli::set_state(store, name, action).await?;
    println!("campaign '{name}' is now {state}");
    Ok(())
}

async fn dnc_command(url: &str, action: DncAction) -> anyhow::Result<()> {
    use switchboard::campaign_cli::{dnc_import, dnc_number};
    let store = Store::open(url).await?;
    let now = chrono::Utc::now();
    match action {
        DncAction::Add { number, region } => {
            let number = dnc_number(&number, &region)?;
            let added = store.dnc_add(&number, "manual", now).await?;
            println!(
                "{number} {}",
                if added { "added" } else { "was already listed" }
            );
        }
        DncAction::Remove { number, region } => {
            let number = dnc_number(&number, &region)?;
            let removed = store.dnc_remove(&number).await?;
            println!(
                "{number} {}",
                if removed { "removed" } else { "was not listed" }
            );
        }
        DncAction::Check { number, region } => {
            let number = dnc_number(&number, &region)?;
            let listed = store.dnc_contains(&number).await?;
            println!(
                "{number} {}",
                if listed {
                    "is on the do-not-call list"
                } else {
                    "is not listed"
                }
            );
        }
        DncAction::Import { file, region } => {
            let (added, present, bad) = dnc_import(&store, &file, &region).await?;
            for (line, reason) in &bad {
                println!("line {line}: {reason}");
            }
            println!(
                "{added} added, {present} already listed, {} bad lines",
                bad.len()
            );
        }
    }
    Ok(())
}

async fn list_calls(url: &str, limit: i64, json: bool, show: Option<String>) -> anyhow::Result<()> {
    let store = Store::open(url).await?;
    if let Some(id) = show {
        let Some(call) = store.find_call(&id).await? else {
            anyhow::bail!("no call with id or Call-ID '{id}' in {url}");
        };
        let events = store.call_events(&call.id).await?;
        if json {
            println!("{}", serde_json::json!({ "call": call, "events": events }));
        } else {
            println!("call      {}", call.id);
            println!("call-id   {}", call.sip_call_id);
            println!("from      {}  to {}", call.caller, call.called);
            println!("dialplan  {}", call.dialplan.as_deref().unwrap_or("-"));
            println!(
                "state     {}  outcome {}",
                call.state,
                call.outcome.as_deref().unwrap_or("-")
            );
            println!("started   {}", call.started_at);
            println!("answered  {}", call.answered_at.as_deref().unwrap_or("-"));
            println!(
                "ended     {}  ({} ms)",
                call.ended_at.as_deref().unwrap_or("-"),
                call.duration_ms.unwrap_or(0)
            );
            println!(
                "hangup    by {} ({})",
                call.hangup_by.as_deref().unwrap_or("-"),
                call.hangup_cause.as_deref().unwrap_or("-")
            );
            println!("path      {}", call.path);
            println!("digits    {}", call.digits);
            println!("variables {}", call.variables);
            if let Some(path) = &call.recording_path {
                println!("recording {path}");
            }
            println!("timeline:");
            for event in events {
                println!(
                    "  {}  {:<14} {:<16} {}",
                    event.at,
                    event.kind,
                    event.node.as_deref().unwrap_or(""),
                    event.detail
                );
            }
        }
        return Ok(());
    }
    let calls = store.recent_calls(limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&calls)?);
        return Ok(());
    }
    println!(
        "{:<24} {:<16} {:<10} {:<10} {:<9} {:>8} {:<16} {:<10}",
        "started", "caller", "called", "dialplan", "state", "secs", "outcome", "hangup"
    );
    for call in calls {
        println!(
            "{:<24} {:<16} {:<10} {:<10} {:<9} {:>8} {:<16} {:<10}",
            call.started_at,
            call.caller,
            call.called,
            call.dialplan.as_deref().unwrap_or("-"),
            call.state,
            call.duration_ms
                .map(|ms| format!("{:.1}", ms as f64 / 1000.0))
                .unwrap_or_else(|| "-".into()),
            call.outcome.as_deref().unwrap_or("-"),
            call.hangup_by.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}
