//! The registrar for agents' SIP phones (RFC 3261 §10.3): digest
//! authentication, one answer (401) for unknown users and wrong passwords so
//! accounts cannot be enumerated, a lockout for sources that keep failing,
//! and the bindings (where each agent can be reached) with their expiry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use tracing::{info, warn};

use super::digest::{parse_authorization, verify, Lockout, NonceIssuer, Refusal};
use super::SipError;
use crate::directory::AgentDirectory;
use crate::pii::Masked;

/// Shortest and longest registration we grant (RFC 3261 §10.3 step 7).
const MIN_EXPIRES: u32 = 60;
const MAX_EXPIRES: u32 = 3600;

/// Where an agent's phone can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub contact: String,
    pub expires_at: Instant,
}

pub struct Registrar {
    issuer: NonceIssuer,
    /// Agents (the SIP user name is the agent id) and their HA1, shared
    /// with the API, which adds and deletes agents while we run.
    directory: Arc<AgentDirectory>,
    lockout: Mutex<Lockout>,
    bindings: Mutex<HashMap<String, Binding>>,
    epoch: Instant,
    /// Woken on every registration and unregistration.
    changed: tokio::sync::Notify,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Registrar {
    /// A registrar for the directory's agents, in the directory's realm.
    pub fn new(directory: Arc<AgentDirectory>) -> Registrar {
        let secret = format!("{:032x}", rand::random::<u128>());
        Registrar {
            issuer: NonceIssuer::new(secret, directory.realm()),
            directory,
            // 5 failures within a minute lock the source out for 5 minutes.
            lockout: Mutex::new(Lockout::new(
                5,
                Duration::from_secs(60),
                Duration::from_secs(300),
            )),
            bindings: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// The agent's current contact, if registered and not expired.
    pub fn contact_of(&self, agent: &str) -> Option<String> {
        let bindings = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        bindings
            .get(agent)
            .filter(|binding| binding.expires_at > Instant::now())
            .map(|binding| binding.contact.clone())
    }

    /// Resolves after the next registration or unregistration (one waiter).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// Forgets the agent's binding (the agent was deleted); true if it had one.
    pub fn remove_binding(&self, agent: &str) -> bool {
        let removed = self
            .bindings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(agent)
            .is_some();
        if removed {
            info!(agent = %agent, "agent's phone binding dropped");
            self.changed.notify_one();
        }
        removed
    }

    /// Every live binding.
    pub fn bindings(&self) -> Vec<(String, Binding)> {
        let now = Instant::now();
        let mut bindings = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        bindings.retain(|_, binding| binding.expires_at > now);
        bindings
            .iter()
            .map(|(agent, binding)| (agent.clone(), binding.clone()))
            .collect()
    }

    pub(super) async fn handle(&self, transaction: &mut Transaction) -> Result<(), SipError> {
        let request = &transaction.original;
        let source = source_ip(request);
        let tick = self.epoch.elapsed();
        if let Some(source) = source {
            let locked = self
                .lockout
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_locked(source, tick);
            if locked {
                warn!(%source, "REGISTER from a locked-out source refused");
                return reply(transaction, StatusCode::Forbidden, vec![]).await;
            }
        }
        let now = now_secs();
        let Some(credentials) = request
            .header_value("Authorization")
            .and_then(|value| parse_authorization(&value))
        else {
            let challenge = self.issuer.challenge(now, false);
            return reply(
                transaction,
                StatusCode::Unauthorized,
                vec![www_authenticate(challenge)],
            )
            .await;
        };
        let ha1 = self.directory.ha1_of(&credentials.username);
        match verify(&self.issuer, &credentials, "REGISTER", ha1.as_deref(), now) {
            Ok(()) => {}
            Err(Refusal::Stale) => {
                let challenge = self.issuer.challenge(now, true);
                return reply(
                    transaction,
                    StatusCode::Unauthorized,
                    vec![www_authenticate(challenge)],
                )
                .await;
            }
            Err(Refusal::Denied) => {
                if let Some(source) = source {
                    let mut lockout = self.lockout.lock().unwrap_or_else(|p| p.into_inner());
                    if lockout.failed(source, tick) {
                        warn!(%source, "too many failed registrations; source locked out for 5 minutes");
                    }
                }
                info!(user = %Masked(&credentials.username), source = ?source, "registration refused");
                let challenge = self.issuer.challenge(now, false);
                return reply(
                    transaction,
                    StatusCode::Unauthorized,
                    vec![www_authenticate(challenge)],
                )
                .await;
            }
        }
        if let Some(source) = source {
            self.lockout
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .succeeded(source);
        }
        // An agent may only register its own address of record.
        let to_user = request
            .to_header()
            .ok()
            .and_then(|to| to.uri().ok())
            .and_then(|uri| uri.auth.map(|auth| auth.user));
        if to_user.as_deref() != Some(credentials.username.as_str()) {
            return reply(transaction, StatusCode::Forbidden, vec![]).await;
        }
        let contact = request.header_value("Contact").unwrap_or_default();
        let expires = requested_expires(request, &contact);
        let agent = credentials.username.clone();
        let contact_uri = contact_uri(&contact);
        if expires == 0 || contact.trim() == "*" {
            self.bindings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&agent);
            info!(agent = %agent, "agent unregistered");
            self.changed.notify_one();
            return reply(transaction, StatusCode::OK, vec![]).await;
        }
        if expires < MIN_EXPIRES {
            return reply(
                transaction,
                StatusCode::IntervalTooBrief,
                vec![Header::Other("Min-Expires".into(), MIN_EXPIRES.to_string())],
            )
            .await;
        }
        let granted = expires.min(MAX_EXPIRES);
        self.bindings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                agent.clone(),
                Binding {
                    contact: contact_uri.clone(),
                    expires_at: Instant::now() + Duration::from_secs(u64::from(granted)),
                },
            );
        info!(agent = %agent, expires = granted, "agent registered");
        self.changed.notify_one();
        reply(
            transaction,
            StatusCode::OK,
            vec![
                Header::Other(
                    "Contact".into(),
                    format!("<{contact_uri}>;expires={granted}"),
                ),
                Header::Other("Expires".into(), granted.to_string()),
            ],
        )
        .await
    }
}

fn www_authenticate(challenge: String) -> Header {
    Header::Other("WWW-Authenticate".into(), challenge)
}

async fn reply(
    transaction: &mut Transaction,
    status: StatusCode,
    headers: Vec<Header>,
) -> Result<(), SipError> {
    Ok(transaction.reply_with(status, headers, None).await?)
}

/// The address the REGISTER came from: the top Via's `received`, else its host.
fn source_ip(request: &rsipstack::sip::Request) -> Option<IpAddr> {
    let via = request.header_value("Via")?;
    let received = via
        .split(';')
        .find_map(|param| param.trim().strip_prefix("received="))
        .and_then(|ip| ip.trim().parse().ok());
    received.or_else(|| {
        let sent_by = via.split_whitespace().nth(1)?.split(';').next()?;
        let host = sent_by.rsplit_once(':').map_or(sent_by, |(host, _)| host);
        host.trim_matches(['[', ']']).parse().ok()
    })
}

/// The `<uri>` of a Contact header value.
fn contact_uri(contact: &str) -> String {
    match (contact.find('<'), contact.find('>')) {
        (Some(start), Some(end)) if start < end => contact[start + 1..end].to_string(),
        _ => contact.split(';').next().unwrap_or("").trim().to_string(),
    }
}

/// Expiry asked for: the Contact's `expires` parameter, else the Expires
/// header, else an hour (RFC 3261 §10.2.1.1).
fn requested_expires(request: &rsipstack::sip::Request, contact: &str) -> u32 {
    let from_contact = contact
        .split(';')
        .find_map(|param| param.trim().strip_prefix("expires="))
        .and_then(|value| value.trim().parse().ok());
    from_contact
        .or_else(|| {
            request
                .header_value("Expires")
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(MAX_EXPIRES)
}
