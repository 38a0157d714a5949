//! HTTP digest authentication for SIP (RFC 3261 §22.4, RFC 2617 MD5 with
//! qop=auth) on the server side, and a lockout for sources that keep failing.
//! Pure: the clock and the secret are passed in.
//!
//! Nonces are stateless: `<issued seconds, hex>.<MD5(secret:issued:realm)>`, so
//! any node with the secret can check them and a stale one is recognised.
//! Failures never say whether the user exists: an unknown user and a wrong
//! password get the same challenge.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use md5::{Digest, Md5};

/// How long a nonce stays good.
const NONCE_LIFETIME_SECS: u64 = 300;

fn md5_hex(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// HA1 = MD5(username ":" realm ":" password), lowercase hex (RFC 2617
/// §3.2.2.2). What the engine keeps instead of an agent's password: it is
/// enough to check a digest response, and to check a password presented on
/// the agent page, without storing the password itself.
pub fn ha1(username: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{username}:{realm}:{password}"))
}

/// Whether `text` looks like an HA1 (32 lowercase hex digits).
pub fn is_ha1(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Stands in for the HA1 of a user who does not exist, so that checking an
/// unknown user's credentials takes the same steps as a known user's (the
/// answer is still "denied": [`verify`] and
/// [`AgentDirectory::authenticate`](crate::directory::AgentDirectory::authenticate)
/// never accept it, even for a response made from it).
pub const NO_SUCH_USER_HA1: &str = "00000000000000000000000000000000";

/// Issues and checks nonces for one realm.
#[derive(Clone)]
pub struct NonceIssuer {
    secret: String,
    realm: String,
}

impl NonceIssuer {
    pub fn new(secret: impl Into<String>, realm: impl Into<String>) -> NonceIssuer {
        NonceIssuer {
            secret: secret.into(),
            realm: realm.into(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A nonce issued at `now` (seconds since the Unix epoch).
    pub fn issue(&self, now_secs: u64) -> String {
        let seal = md5_hex(&format!("{}:{now_secs:x}:{}", self.secret, self.realm));
        format!("{now_secs:x}.{seal}")
    }

    /// True if we issued `nonce` and it is not older than its lifetime.
    pub fn is_fresh(&self, nonce: &str, now_secs: u64) -> bool {
        let Some((issued_hex, seal)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(issued) = u64::from_str_radix(issued_hex, 16) else {
            return false;
        };
        let expected = md5_hex(&format!("{}:{issued:x}:{}", self.secret, self.realm));
        constant_time_eq(seal.as_bytes(), expected.as_bytes())
            && issued <= now_secs
            && now_secs - issued <= NONCE_LIFETIME_SECS
    }

    /// The WWW-Authenticate header value for a challenge (`stale` after an
    /// expired nonce with otherwise good credentials, RFC 2617 §3.2.1).
    pub fn challenge(&self, now_secs: u64, stale: bool) -> String {
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{}",
            self.realm,
            self.issue(now_secs),
            if stale { ", stale=true" } else { "" }
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time_equal(a, b)
}

/// Compares secrets without stopping at the first difference, so the time
/// taken does not tell an attacker how much of a guess was right (the length
/// of `presented` only changes how long the loop runs, not the answer).
pub fn constant_time_equal(presented: &[u8], expected: &[u8]) -> bool {
    let mut difference = u8::from(presented.len() != expected.len());
    for index in 0..presented.len().max(expected.len()) {
        let a = presented.get(index).copied().unwrap_or(0);
        let b = expected.get(index).copied().unwrap_or(0);
        difference |= a ^ b;
    }
    std::hint::black_box(difference) == 0
}

/// The fields of an `Authorization: Digest ...` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
    pub algorithm: Option<String>,
}

/// Parses `Digest username="a", realm="b", ...` (quoted or token values, any order).
pub fn parse_authorization(value: &str) -> Option<Credentials> {
    let rest = value.trim().strip_prefix("Digest")?.trim_start();
    let mut credentials = Credentials::default();
    let mut position = 0;
    while position < rest.len() {
        let remaining = &rest[position..];
        let trimmed = remaining.trim_start_matches([' ', ',', '\t']);
        position += remaining.len() - trimmed.len();
        if trimmed.is_empty() {
            break;
        }
        let equals = trimmed.find('=')?;
        let name = trimmed[..equals].trim().to_ascii_lowercase();
        let after = &trimmed[equals + 1..];
        let (value, used) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (quoted[..end].to_string(), equals + 1 + end + 2)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), equals + 1 + end)
        };
        position += used;
        match name.as_str() {
            "username" => credentials.username = value,
            "realm" => credentials.realm = value,
            "nonce" => credentials.nonce = value,
            "uri" => credentials.uri = value,
            "response" => credentials.response = value,
            "qop" => credentials.qop = Some(value),
            "nc" => credentials.nc = Some(value),
            "cnonce" => credentials.cnonce = Some(value),
            "algorithm" => credentials.algorithm = Some(value),
            _ => {}
        }
    }
    (!credentials.username.is_empty() && !credentials.response.is_empty()).then_some(credentials)
}

/// Why credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown user, wrong password, foreign nonce, wrong realm: one answer for all.
    Denied,
    /// Right password, but the nonce expired: challenge again with stale=true.
    Stale,
}

/// Checks `credentials` for `method` against the user's HA1 ([`ha1`], for
/// the issuer's realm; `None` for an unknown user, checked against
/// [`NO_SUCH_USER_HA1`] with the same work, so timing tells nothing).
pub fn verify(
    issuer: &NonceIssuer,
    credentials: &Credentials,
    method: &str,
    user_ha1: Option<&str>,
    now_secs: u64,
) -> Result<(), Refusal> {
    let algorithm_ok = credentials
        .algorithm
        .as_deref()
        .is_none_or(|algorithm| algorithm.eq_ignore_ascii_case("MD5"));
    // The same work for an unknown user as for a known one: no hash to
    // make, just a constant to use in its place.
    let ha1 = user_ha1.unwrap_or(NO_SUCH_USER_HA1);
    let ha2 = md5_hex(&format!("{method}:{}", credentials.uri));
    let expected = match (&credentials.qop, &credentials.nc, &credentials.cnonce) {
        (Some(qop), Some(nc), Some(cnonce)) if qop == "auth" => md5_hex(&format!(
            "{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}",
            credentials.nonce
        )),
        _ => md5_hex(&format!("{ha1}:{}:{ha2}", credentials.nonce)),
    };
    let matches = constant_time_eq(
        expected.as_bytes(),
        credentials.response.to_ascii_lowercase().as_bytes(),
    );
    if !(matches && user_ha1.is_some() && algorithm_ok && credentials.realm == issuer.realm()) {
        return Err(Refusal::Denied);
    }
    if !issuer.is_fresh(&credentials.nonce, now_secs) {
        return Err(Refusal::Stale);
    }
    Ok(())
}

/// Locks out a source address after too many failed attempts in a window.
pub struct Lockout {
    max_failures: u32,
    window: Duration,
    lock_for: Duration,
    sources: HashMap<IpAddr, SourceRecord>,
}

struct SourceRecord {
    failures: u32,
    first_failure: Duration,
    locked_until: Option<Duration>,
}

impl Lockout {
    /// e.g. 5 failures within 60 s locks the source out for 5 minutes.
    pub fn new(max_failures: u32, window: Duration, lock_for: Duration) -> Lockout {
        Lockout {
            max_failures: max_failures.max(1),
            window,
            lock_for,
            sources: HashMap::new(),
        }
    }

    /// True while `source` is locked out (`now` since any fixed epoch).
    pub fn is_locked(&self, source: IpAddr, now: Duration) -> bool {
        self.sources
            .get(&source)
            .and_then(|record| record.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a failure; returns true if it just locked the source out.
    pub fn failed(&mut self, source: IpAddr, now: Duration) -> bool {
        // Forget sources whose window and lock have both passed (bounded memory).
        if self.sources.len() > 10_000 {
            let (window, lock_for) = (self.window, self.lock_for);
            self.sources
                .retain(|_, record| now.saturating_sub(record.first_failure) < window + lock_for);
        }
        let record = self.sources.entry(source).or_insert(SourceRecord {
            failures: 0,
            first_failure: now,
            locked_until: None,
        });
        if now.saturating_sub(record.first_failure) > self.window {
            record.failures = 0;
            record.first_failure = now;
        }
        record.failures += 1;
        if record.failures >= self.max_failures
            && record.locked_until.is_none_or(|until| now >= until)
        {
            record.locked_until = Some(now + self.lock_for);
            record.failures = 0;
            record.first_failure = now;
            return true;
        }
        false
    }

    /// A success clears the source's failures.
    pub fn succeeded(&mut self, source: IpAddr) {
        self.sources.remove(&source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn respond(credentials: &mut Credentials, password: &str, realm: &str) {
        let ha1 = md5_hex(&format!("{}:{realm}:{password}", credentials.username));
        let ha2 = md5_hex(&format!("REGISTER:{}", credentials.uri));
        credentials.response = md5_hex(&format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            credentials.nonce,
            credentials.nc.as_deref().unwrap_or(""),
            credentials.cnonce.as_deref().unwrap_or("")
        ));
    }

    fn credentials(issuer: &NonceIssuer, user: &str, now: u64) -> Credentials {
        Credentials {
            username: user.into(),
            realm: issuer.realm().into(),
            nonce: issuer.issue(now),
            uri: "sip:127.0.0.1".into(),
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("abc".into()),
            ..Credentials::default()
        }
    }

    #[test]
    fn right_password_passes_and_everything_else_is_denied_alike() {
        let issuer = NonceIssuer::new("secret", "switchboard");
        let mut good = credentials(&issuer, "alice", 1000);
        respond(&mut good, "pw", "switchboard");
        let pw = ha1("alice", "switchboard", "pw");
        let other = ha1("alice", "switchboard", "other");
        assert_eq!(verify(&issuer, &good, "REGISTER", Some(&pw), 1010), Ok(()));
        assert_eq!(
            verify(&issuer, &good, "REGISTER", Some(&other), 1010),
            Err(Refusal::Denied)
        );
        // An HA1 made for another realm does not fit.
        let elsewhere = ha1("alice", "elsewhere", "pw");
        assert_eq!(
            verify(&issuer, &good, "REGISTER", Some(&elsewhere), 1010),
            Err(Refusal::Denied)
        );
        assert_eq!(
            verify(&issuer, &good, "REGISTER", None, 1010),
            Err(Refusal::Denied)
        );
        assert_eq!(
            verify(&issuer, &good, "INVITE", Some(&pw), 1010),
            Err(Refusal::Denied)
        );
        assert_eq!(
            verify(&issuer, &good, "REGISTER", Some(&pw), 1000 + 301),
            Err(Refusal::Stale)
        );
        let foreign = NonceIssuer::new("other secret", "switchboard");
        let mut forged = credentials(&foreign, "alice", 1000);
        respond(&mut forged, "pw", "switchboard");
        assert_eq!(
            verify(&issuer, &forged, "REGISTER", Some(&pw), 1010),
            Err(Refusal::Stale)
        );
    }

    #[test]
    fn the_stand_in_for_an_unknown_user_never_authenticates() {
        // A response made from the stand-in HA1 itself: it matches what
        // `verify` computes for an unknown user, and is still denied.
        let issuer = NonceIssuer::new("secret", "switchboard");
        let mut guess = credentials(&issuer, "mallory", 1000);
        let ha2 = md5_hex(&format!("REGISTER:{}", guess.uri));
        guess.response = md5_hex(&format!(
            "{NO_SUCH_USER_HA1}:{}:00000001:abc:auth:{ha2}",
            guess.nonce
        ));
        assert_eq!(
            verify(&issuer, &guess, "REGISTER", None, 1010),
            Err(Refusal::Denied)
        );
        assert_eq!(
            verify(&issuer, &guess, "REGISTER", Some(NO_SUCH_USER_HA1), 1010),
            Ok(()),
            "the response above is right for the stand-in"
        );
    }

    #[test]
    fn ha1_is_the_rfc_2617_hash() {
        // RFC 2617 §3.5's example: Mufasa / testrealm@host.com / Circle Of Life.
        assert_eq!(
            ha1("Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9"
        );
        assert!(is_ha1(&ha1("a", "b", "c")));
        assert!(!is_ha1("939E7578ED9E3C518A452ACEE763BCE9"));
        assert!(!is_ha1("short"));
    }

    #[test]
    fn parses_sipp_style_authorization() {
        let parsed = parse_authorization(
            "Digest username=\"alice\",realm=\"switchboard\",cnonce=\"6b8b4567\",nc=00000001,qop=auth,uri=\"sip:127.0.0.1:5060\",nonce=\"1a.b2\",response=\"0123abcd\",algorithm=MD5",
        )
        .unwrap();
        assert_eq!(parsed.username, "alice");
        assert_eq!(parsed.nc.as_deref(), Some("00000001"));
        assert_eq!(parsed.qop.as_deref(), Some("auth"));
        assert_eq!(parsed.response, "0123abcd");
        assert!(parse_authorization("Basic abc").is_none());
        assert!(parse_authorization("Digest username=\"unterminated").is_none());
    }

    #[test]
    fn lockout_after_repeated_failures_then_releases() {
        let mut lockout = Lockout::new(3, Duration::from_secs(60), Duration::from_secs(300));
        let source: IpAddr = "127.0.0.9".parse().unwrap();
        let at = Duration::from_secs;
        assert!(!lockout.failed(source, at(0)));
        assert!(!lockout.failed(source, at(1)));
        assert!(lockout.failed(source, at(2)));
        assert!(lockout.is_locked(source, at(100)));
        assert!(!lockout.is_locked(source, at(303)));
        // Failures spread wider than the window never lock.
        let other: IpAddr = "127.0.0.10".parse().unwrap();
        for minute in 0..10 {
            assert!(!lockout.failed(other, at(minute * 61)));
        }
    }
}
