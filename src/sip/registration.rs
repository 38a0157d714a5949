//! Keeps the engine registered with a trunk that wants REGISTER (RFC 3261
//! §10): digest credentials, re-registration before the granted expiry runs
//! out, and exponential back-off when the registrar refuses or is silent.

use std::time::Duration;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::registration::Registration;
use rsipstack::transaction::endpoint::EndpointInnerRef;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::TrunkCredential;

/// Where a trunk's registration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    Registering,
    /// Registered; the registrar granted this many seconds.
    Registered {
        expires_secs: u32,
    },
    /// The last try failed (status, or 0 for no answer); retrying after a back-off.
    Failed {
        status: u16,
        retry_in_secs: u64,
    },
    /// Stopped: the registration was removed (Expires: 0) on the way out.
    Unregistered,
}

/// Re-register at this share of the granted time (RFC 3261 §10.2.4 leaves
/// the margin to us; a quarter left over rides out a slow registrar).
fn refresh_after(granted_secs: u32) -> Duration {
    Duration::from_secs(u64::from(granted_secs.max(8)) * 3 / 4)
}

/// Doubles from 2 s up to 5 minutes.
fn back_off(failures: u32) -> Duration {
    Duration::from_secs((2u64 << failures.min(8)).min(300))
}

pub(super) fn keep_registered(
    endpoint: EndpointInnerRef,
    trunk_name: String,
    registrar: rsipstack::sip::Uri,
    credential: TrunkCredential,
    expires_secs: u32,
    stop: CancellationToken,
) -> watch::Receiver<RegistrationState> {
    let (sender, receiver) = watch::channel(RegistrationState::Registering);
    tokio::spawn(async move {
        let mut registration = Registration::new(
            endpoint,
            Some(Credential {
                username: credential.username,
                password: credential.password,
                realm: credential.realm,
                ..Default::default()
            }),
        );
        let mut failures = 0u32;
        loop {
            let wait = match registration
                .register(registrar.clone(), Some(expires_secs))
                .await
            {
                Ok(response)
                    if response.status_code.kind()
                        == rsipstack::sip::StatusCodeKind::Successful =>
                {
                    let granted = registration.expires();
                    if failures > 0 || *sender.borrow() == RegistrationState::Registering {
                        info!(trunk = %trunk_name, expires_secs = granted, "registered with trunk");
                    }
                    failures = 0;
                    sender.send_replace(RegistrationState::Registered {
                        expires_secs: granted,
                    });
                    refresh_after(granted)
                }
                Ok(response) => {
                    let status = u16::from(response.status_code.clone());
                    let wait = back_off(failures);
                    failures += 1;
                    warn!(trunk = %trunk_name, status, retry_in_s = wait.as_secs(), "trunk refused registration");
                    sender.send_replace(RegistrationState::Failed {
                        status,
                        retry_in_secs: wait.as_secs(),
                    });
                    wait
                }
                Err(error) => {
                    let wait = back_off(failures);
                    failures += 1;
                    warn!(trunk = %trunk_name, %error, retry_in_s = wait.as_secs(), "trunk registration failed");
                    sender.send_replace(RegistrationState::Failed {
                        status: 0,
                        retry_in_secs: wait.as_secs(),
                    });
                    wait
                }
            };
            tokio::select! {
                _ = stop.cancelled() => {
                    // Unregister on the way out (RFC 3261 §10.2.2: Expires 0).
                    registration.register(registrar.clone(), Some(0)).await.ok();
                    info!(trunk = %trunk_name, "unregistered from trunk");
                    sender.send_replace(RegistrationState::Unregistered);
                    return;
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
    receiver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_expiry_and_back_off_is_bounded() {
        assert_eq!(refresh_after(3600), Duration::from_secs(2700));
        assert_eq!(refresh_after(1), Duration::from_secs(6));
        assert_eq!(back_off(0), Duration::from_secs(2));
        assert_eq!(back_off(3), Duration::from_secs(16));
        assert_eq!(back_off(50), Duration::from_secs(300));
    }
}
