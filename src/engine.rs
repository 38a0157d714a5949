//! Assembles the engine from its configuration: call log, prompts, dialplans,
//! SIP, campaigns and the REST API. `switchboard serve` and the tests start it the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::call::{AgentDesk, AttemptReport, CallEngine, CallSettings, OriginateRequest};
use crate::campaigns::CampaignSupervisor;
use crate::config::Config;
use crate::http::{ApiState, HttpServer};
use crate::media::prompts::PromptLibrary;
use crate::plans::PlanRegistry;
use crate::sip::{RegistrationState, SipServer, SipServerConfig};
use crate::store::{CallLog, Store};

/// What an engine process is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `serve`: the one engine using its database.
    Server,
    /// `dial`: places one call and exits; touches nothing else.
    OneCall,
}

pub struct Engine {
    sip: Arc<SipServer>,
    registrations: Vec<tokio::sync::watch::Receiver<crate::sip::RegistrationState>>,
    campaigns: Arc<CampaignSupervisor>,
    handler: Arc<CallEngine>,
    call_log: CallLog,
    http: Option<HttpServer>,
    desk: Arc<std::sync::OnceLock<AgentDesk>>,
    shutdown: CancellationToken,
}

impl Engine {
    /// Starts everything; fails with a readable reason if anything is wrong
    /// (a bad dialplan, a route to a missing plan, a busy port, a bad database).
    pub async fn start(config: Config) -> anyhow::Result<Engine> {
        Engine::start_as(config, Role::Server).await
    }

    /// Starts the engine in `role`. A one-call engine (`switchboard dial`) may
    /// share the database with a running server, so it leaves crash recovery,
    /// campaigns and trunk registrations to that server.
    pub async fn start_as(config: Config, role: Role) -> anyhow::Result<Engine> {
        let server = role == Role::Server;
        let store = Store::open(&config.database.url).await?;
        // First, while the database holds only the previous run's writes.
        let agents_closed = if server {
            store.close_agent_states_left_open().await?
        } else {
            0
        };
        if agents_closed > 0 {
            warn!(
                agents = agents_closed,
                "agents left logged in by a previous run that did not stop cleanly were logged out as of its last activity"
            );
        }
        let interrupted = if server {
            store.close_interrupted_calls(Utc::now()).await?
        } else {
            0
        };
        if interrupted > 0 {
            warn!(
                calls = interrupted,
                "closed calls left open by a previous run as 'interrupted'"
            );
        }
        let recovery = if server {
            store.recover_campaigns(Utc::now()).await?
        } else {
            Default::default()
        };
        if recovery.leases_released > 0 || recovery.attempts_interrupted > 0 {
            warn!(
                leases_released = recovery.leases_released,
                attempts_interrupted = recovery.attempts_interrupted,
                "recovered campaigns after an unclean stop; interrupted attempts are not redialled"
            );
        }
        let call_log = store.start_writer();

        let prompts = Arc::new(PromptLibrary::new(&config.paths.prompts));
        let plans = Arc::new(PlanRegistry::new(&config.paths.dialplans, prompts.clone()));
        let report = plans.load_all();
        if !report.errors.is_empty() {
            let list: Vec<String> = report.errors.iter().map(|e| format!("  {e}")).collect();
            bail!(
                "{} problem(s) in the dialplans under {}:\n{}",
                report.errors.len(),
                config.paths.dialplans.display(),
                list.join("\n")
            );
        }
        for (number, plan) in &config.routes {
            if plans.get(plan).is_none() {
                bail!(
                    "config routes: number '{number}' goes to dialplan '{plan}', which is not among the loaded plans {:?} (folder {})",
                    plans.names(),
                    config.paths.dialplans.display()
                );
            }
        }
        info!(dialplans = ?plans.names(), prompts = prompts.loaded_count(), "dialplans loaded");

        let shutdown = CancellationToken::new();
        // Before SIP, so a busy HTTP port stops the start before any call is taken.
        // The agent desk starts after SIP; the API finds it here.
        let desk_slot: Arc<std::sync::OnceLock<AgentDesk>> = Default::default();
        let http = if config.http.enabled {
            let listen = config.http.listen;
            if config.http.token.is_none() && !listen.ip().is_loopback() {
                warn!(
                    %listen,
                    "the HTTP API listens beyond this machine without a token: anyone who can \
                     reach it can run campaigns (set [http] token)"
                );
            }
            let state = ApiState {
                store: store.clone(),
                token: config.http.token.clone(),
                desk: desk_slot.clone(),
            };
            let server = HttpServer::start(listen, state, shutdown.child_token())
                .await
                .with_context(|| {
                    format!(
                        "starting the HTTP API on {listen} (config [http] listen, or serve --http-listen)"
                    )
                })?;
            Some(server)
        } else {
            None
        };
        let advertised_address = config.advertised_address();
        let settings = CallSettings {
            advertised_address,
            rtp_bind_address: config.sip.listen.ip(),
            rtp_port_min: config.rtp.port_min,
            rtp_port_max: config.rtp.port_max,
            media_timeout: Duration::from_secs(config.rtp.media_timeout_secs),
            answer_delay: Duration::from_millis(config.sip.answer_delay_ms),
            recordings_dir: config.paths.recordings.clone(),
            routes: config.routes.clone(),
            api_base: http.as_ref().map(|http| {
                let address = http.local_address();
                let host = if address.ip().is_unspecified() {
                    advertised_address
                } else {
                    address.ip()
                };
                format!("http://{}", SocketAddr::new(host, address.port()))
            }),
        };
        let handler = Arc::new(CallEngine::new(
            settings,
            plans.clone(),
            prompts,
            call_log.clone(),
            shutdown.clone(),
        ));
        // Agents from the config file and those created through the API;
        // the registrar exists even without agents, for agents created later.
        let directory = Arc::new(crate::directory::AgentDirectory::from_config(&config));
        let (registrar, kept_logged_out) = if server {
            let loaded = crate::call::load_stored_agents(&store, &directory).await?;
            if loaded > 0 {
                info!(agents = loaded, "agents created through the API loaded");
            }
            (
                Some(Arc::new(crate::sip::Registrar::new(directory.clone()))),
                store.agents_kept_logged_out().await?,
            )
        } else {
            (None, Default::default())
        };
        let sip = SipServer::start(
            SipServerConfig {
                registrar: registrar.clone(),
                listen: config.sip.listen,
                advertised_address,
                user_agent: config.sip.user_agent.clone(),
            },
            handler.clone(),
            // Not a child of `shutdown`: SIP must outlive the calls' BYEs.
            CancellationToken::new(),
        )
        .await
        // Stops the HTTP API again if SIP cannot start.
        .inspect_err(|_| shutdown.cancel())
        .context("starting SIP")?;
        let sip = Arc::new(sip);
        let mut registrations = Vec::new();
        for trunk in config
            .trunks
            .iter()
            .filter(|trunk| trunk.register && server)
        {
            if let Some(credential) = trunk.credential() {
                let state = sip
                    .register(
                        &trunk.name,
                        &trunk.uri,
                        credential,
                        trunk.register_expires_secs,
                        shutdown.child_token(),
                    )
                    .with_context(|| format!("trunk '{}'", trunk.name))?;
                registrations.push(state);
            }
        }
        if let Some(registrar) = registrar {
            let desk = AgentDesk::start(
                &handler,
                sip.clone(),
                registrar,
                &config,
                directory,
                kept_logged_out,
                store.clone(),
                shutdown.child_token(),
            )
            .map_err(|reason| anyhow::anyhow!("agent queues: {reason}"))?;
            desk_slot.set(desk).ok();
        }
        plans.watch(Duration::from_secs(2), shutdown.child_token());
        let campaigns = CampaignSupervisor::new(
            store.clone(),
            handler.clone(),
            sip.clone(),
            &config.trunks,
            desk_slot.clone(),
            shutdown.child_token(),
        );
        if server {
            campaigns.start();
        }
        Ok(Engine {
            sip,
            registrations,
            campaigns,
            handler,
            call_log,
            http,
            desk: desk_slot,
            shutdown,
        })
    }

    pub fn sip_address(&self) -> SocketAddr {
        self.sip.local_address()
    }

    /// Where the REST API listens (None when `[http] enabled = false`).
    pub fn http_address(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(HttpServer::local_address)
    }

    /// The agent desk (`None` in a one-call engine).
    pub fn agent_desk(&self) -> Option<&AgentDesk> {
        self.desk.get()
    }

    pub fn active_calls(&self) -> usize {
        self.handler.active_calls()
    }

    /// Places one call and runs it to its end (see [`CallEngine::originate`]).
    pub async fn originate(&self, request: OriginateRequest) -> AttemptReport {
        self.handler.originate(&self.sip, request).await
    }

    /// Stops taking calls, hangs up the ones in progress (BYE), waits up to
    /// `grace` for them to end, and flushes the call log and the agent
    /// events (a logout for every agent still logged in).
    pub async fn shutdown(self, grace: Duration) {
        info!(active_calls = self.active_calls(), "shutting down");
        self.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        while (self.active_calls() > 0 || self.campaigns.attempts_in_flight() > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(http) = self.http {
            // The API stopped accepting with `shutdown`; let requests in flight end.
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            http.stopped(remaining.max(Duration::from_secs(1))).await;
        }
        if let Some(desk) = self.desk.get() {
            // The desk stopped with `shutdown`; its last events are logouts.
            desk.stopped(Duration::from_secs(5)).await;
        }
        self.call_log.flush().await;
        // Let trunks hear our unregister before SIP goes away.
        for mut registration in self.registrations {
            let unregistered =
                registration.wait_for(|state| *state == RegistrationState::Unregistered);
            tokio::time::timeout(Duration::from_secs(3), unregistered)
                .await
                .ok();
        }
        self.sip.stop();
        info!("stopped");
    }
}
