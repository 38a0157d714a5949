//! Headless Chromium driven over the DevTools protocol (a WebSocket): open a
//! page, run JavaScript in it, wait for what it shows. Chromium gets a fake
//! microphone (optionally playing a WAV file) and no network beyond
//! loopback: background services are off and host names do not resolve.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::poll_until;

pub struct Browser {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

/// Chromium's path, when installed.
pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

impl Browser {
    /// Starts Chromium; `microphone` is a WAV file the fake microphone plays.
    pub async fn launch(microphone: Option<&Path>) -> Browser {
        let binary = chromium().expect(
            "chromium is not installed: scripts/test.sh installs it (Debian package chromium)",
        );
        let profile = tempfile::tempdir().unwrap();
        let mut command = Command::new(binary);
        command
            .arg("--headless=new")
            .arg("--no-sandbox")
            .arg("--disable-gpu")
            .arg("--disable-dev-shm-usage")
            .arg("--no-first-run")
            .arg("--no-default-browser-check")
            .arg("--disable-background-networking")
            .arg("--disable-component-update")
            .arg("--disable-sync")
            .arg("--disable-default-apps")
            .arg("--disable-extensions")
            .arg("--disable-quic")
            .arg("--metrics-recording-only")
            .arg("--no-pings")
            .arg("--disable-domain-reliability")
            .arg("--disable-client-side-phishing-detection")
            .arg("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1")
            // Fake microphone, permission granted, audio may play unprompted.
            .arg("--use-fake-device-for-media-stream")
            .arg("--use-fake-ui-for-media-stream")
            .arg("--autoplay-policy=no-user-gesture-required")
            // WebRTC: loopback candidates, real addresses (no mDNS names).
            .arg("--allow-loopback-in-peer-connection")
            .arg("--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate")
            .arg("--remote-debugging-address=127.0.0.1")
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.path().display()));
        if let Some(wav) = microphone {
            command.arg(format!(
                "--use-file-for-fake-audio-capture={}",
                wav.display()
            ));
        }
        command
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().expect("chromium starts");
        // Chromium writes its DevTools port and path here once listening.
        let port_file = profile.path().join("DevToolsActivePort");
        let text = poll_until(Duration::from_secs(60), None, async || {
            std::fs::read_to_string(&port_file)
                .ok()
                .filter(|text| text.lines().count() >= 2)
                .ok_or_else(|| "chromium did not open its DevTools port within 60 s".to_string())
        })
        .await;
        let mut lines = text.lines();
        let port = lines.next().unwrap().trim();
        let path = lines.next().unwrap().trim();
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}{path}"))
            .await
            .expect("DevTools socket");
        Browser {
            child,
            socket,
            next_id: 0,
            session: None,
            _profile: profile,
        }
    }

    /// Sends one DevTools command and returns its result.
    pub async fn command(&mut self, method: &str, params: Value) -> Value {
        match self.try_command(method, params).await {
            Ok(result) => result,
            Err(error) => panic!("DevTools {method} failed: {error}"),
        }
    }

    /// Sends one DevTools command; its result or its error.
    async fn try_command(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("DevTools send");
        let deadline = Duration::from_secs(30);
        loop {
            let received = tokio::time::timeout(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("DevTools gave no answer to {method} within 30 s"))
                .expect("DevTools socket open")
                .expect("DevTools message");
            let Message::Text(text) = received else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if reply["id"] == json!(id) {
                if let Some(error) = reply.get("error") {
                    return Err(error.clone());
                }
                return Ok(reply["result"].clone());
            }
        }
    }

    /// Opens `url` in a new tab and attaches to it.
    pub async fn open(&mut self, url: &str) {
        self.session = None;
        let target = self
            .command("Target.createTarget", json!({ "url": url }))
            .await;
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = self
            .command(
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await;
        self.session = Some(attached["sessionId"].as_str().unwrap().to_string());
    }

    /// Evaluates JavaScript in the page (promises are awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .command(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("page script failed: {expression}\n{exception}");
        }
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it is truthy; returns its value. (While
    /// the page is still loading, it has no context to run in: retried.)
    pub async fn wait_for(&mut self, expression: &str, limit: Duration, what: &str) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let value = self
                .try_command(
                    "Runtime.evaluate",
                    json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
                )
                .await
                .ok()
                // A script that throws is not "true" (its error is an object).
                .filter(|result| result.get("exceptionDetails").is_none())
                .map(|result| result["result"]["value"].clone())
                .unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(flag) => *flag,
                Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
                Value::String(text) => !text.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            if tokio::time::Instant::now() > deadline {
                let page = self.eval("document.body.innerText").await;
                panic!("the page never showed {what}; it shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of the page.
    pub async fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Closes the browser (as an agent closing the window would).
    pub async fn close(mut self) {
        let message = json!({ "id": u64::MAX, "method": "Browser.close" });
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .ok();
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await.ok();
        }
    }
}

/// `document.getElementById('<id>')`, for page scripts.
pub fn by_id(id: &str) -> String {
    format!("document.getElementById('{id}')")
}

impl Browser {
    /// Opens the agent page the engine serves at `http` and submits its
    /// login form as `agent`.
    pub async fn log_in_as_agent(
        &mut self,
        http: std::net::SocketAddr,
        agent: &str,
        password: &str,
    ) {
        self.open(&format!("http://{http}/agent")).await;
        self.wait_for(
            "document.readyState === 'complete' && document.getElementById('login-form') !== null",
            Duration::from_secs(30),
            "the login form",
        )
        .await;
        self.eval(&format!(
            "{}.value = '{agent}'; {}.value = '{password}'; {}.requestSubmit(); true",
            by_id("agent"),
            by_id("password"),
            by_id("login-form")
        ))
        .await;
    }
}
