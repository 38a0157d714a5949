#!/usr/bin/env bash
# Runs every Switchboard test: formatting, lints, unit and pure-logic tests,
# and the end-to-end tests that drive the real engine with SIPp on loopback.
# Installs what the tests need when it is missing (SIPp from Debian's
# sip-tester package; headless Chromium for the agent page from Debian's
# chromium package). Usage: scripts/test.sh [extra test-runner args]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
[ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing test tools: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# `sipp -v` prints its version and exits 1, so read the text, not the status.
sipp_version=$(sipp -v 2>&1 || true)
case "$sipp_version" in
    *"SIPp v"*) echo "using $(grep -o 'SIPp v[0-9.]*' <<<"$sipp_version" | head -n1)" ;;
    *) echo "sipp is installed but does not run: $sipp_version" >&2; exit 1 ;;
esac

# CI builds once from scratch: incremental caches would only cost disk.
if [ "${CI:-}" = "true" ]; then
    export CARGO_INCREMENTAL=0
fi

cargo fmt --all -- --check
# Build once; every later step reuses the same target directory.
cargo clippy --all-targets --locked -- -D warnings
# Doc examples first, so the run closes with the main runner's summary.
cargo test --doc --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --all-targets --locked --no-fail-fast --failure-output final "$@"
else
    cargo test --all-targets --locked --no-fail-fast "$@"
fi
