#!/usr/bin/env bash
# Switchboard load benchmark (not part of the test suite).
#
#   bench/run.sh                 full run (about 10 minutes)
#   QUICK=1 bench/run.sh         smoke run (under 2 minutes once built)
#
# Builds the release binary, starts the engine on free loopback ports with a
# temporary database, then drives it with SIPp:
#   1. setup rate:  short calls (INVITE/200/ACK/BYE) at each rate in RATES;
#   2. concurrency: long IVR calls with RTP both ways (SIPp -rtp_echo) held at
#                   each level in LEVELS for DURATION seconds, measuring the
#                   engine's CPU, RSS and RTP output.
# Prints a summary (also saved as summary.txt in the results folder) and exits
# non-zero if the engine crashed, panicked or did not stop cleanly.
# All traffic stays on 127.0.0.1; every SIPp run is bounded in calls and time.
# See bench/README.md for what each figure means.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")

# ---------------------------------------------------------------- settings --
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    RATES=${RATES:-"20 50"}
    SETUP_SECS=${SETUP_SECS:-5}
    LEVELS=${LEVELS:-"20 50"}
    DURATION=${DURATION:-8}
    IDLE_WAIT=${IDLE_WAIT:-5}
else
    RATES=${RATES:-"20 50 100 200 400 800 1600 3200"}
    SETUP_SECS=${SETUP_SECS:-10}
    LEVELS=${LEVELS:-"50 100 200 400 800 1600 3200"}
    DURATION=${DURATION:-30}
    IDLE_WAIT=${IDLE_WAIT:-35}    # after phase 1: let SIP transaction timers (32 s) expire
fi
[[ $RATES == none ]] && RATES=""     # RATES=none skips phase 1, LEVELS=none phase 2
[[ $LEVELS == none ]] && LEVELS=""
SHORT_HOLD_MS=${SHORT_HOLD_MS:-500}   # short call: ACK -> BYE
RAMP_CPS=${RAMP_CPS:-100}             # rate at which long calls are started
RTP_PORTS=${RTP_PORTS:-20000-31999}   # below the kernel's ephemeral range (32768+)
CAPTURE_SECS=${CAPTURE_SECS:-3}       # tcpdump RTP sample per level (0 = none)
SIPP_SATURATED_PCT=${SIPP_SATURATED_PCT:-90}  # SIPp's busiest thread, % of a core
SKIP_BUILD=${SKIP_BUILD:-0}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
BIN=${SWITCHBOARD_BIN:-$TARGET_DIR/release/switchboard}
OUT=${OUT:-$(mktemp -d /tmp/switchboard-bench.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

cd "$OUT"   # every path below is absolute; stray output lands here, not in the repo

RTP_MIN=${RTP_PORTS%-*}
RTP_MAX=${RTP_PORTS#*-}
max_level=$(printf '%s\n' 0 $LEVELS | sort -n | tail -n 1)
if ((max_level > (RTP_MAX - RTP_MIN) / 2)); then
    echo "bench: RTP_PORTS $RTP_PORTS has fewer even ports than LEVELS needs ($max_level)" >&2
    exit 2
fi
CLK_TCK=$(getconf CLK_TCK)
SIPP_IFACE=(-bind_local -i 127.0.0.1 -mi 127.0.0.1 -ci 127.0.0.1)

for tool in sipp python3 ss; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done
HAVE_TCPDUMP=0
if command -v tcpdump >/dev/null && [[ $(id -u) == 0 && $CAPTURE_SECS != 0 ]]; then
    HAVE_TCPDUMP=1
fi

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ------------------------------------------------------- process bookkeeping --
ENGINE_PID=""
SIPP_PID=""
TCPDUMP_PID=""
ENGINE_DIED=0
ENGINE_EXIT=""
ENGINE_LOG=/dev/null
ENGINE_NOTES=()   # one line per engine run, for the summary
ENGINE_FAILURES=()

cleanup() {
    local pid
    for pid in "$TCPDUMP_PID" "$SIPP_PID"; do
        if running "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            sleep 0.5
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if running "$ENGINE_PID"; then
        kill -INT "$ENGINE_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            running "$ENGINE_PID" || break
            sleep 0.1
        done
        kill -KILL "$ENGINE_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ helpers --
# A loopback port free for both UDP and TCP (the engine listens on both); with
# "pair", port and port+2 must be free for UDP (SIPp's RTP echo uses both).
free_port() {
    python3 - "${1:-single}" <<'PY'
import random, socket, sys
pair = sys.argv[1] == "pair"
def free(port, kinds):
    sockets = []
    try:
        for kind in kinds:
            s = socket.socket(socket.AF_INET, kind)
            sockets.append(s)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for s in sockets:
            s.close()
for _ in range(2000):
    port = random.randrange(42000, 60000, 2)
    if pair:
        if free(port, [socket.SOCK_DGRAM]) and free(port + 2, [socket.SOCK_DGRAM]):
            print(port); break
    elif free(port, [socket.SOCK_DGRAM, socket.SOCK_STREAM]):
        print(port); break
else:
    sys.exit("no free port")
PY
}

# utime+stime of a whole process, in clock ticks.
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

# "tid ticks" for every thread of a process.
thread_ticks() {
    local task stat
    for task in /proc/"$1"/task/*; do
        stat=$(cat "$task/stat" 2>/dev/null) || continue
        stat=${stat##*) }
        awk -v tid="${task##*/}" '{ print tid, $12 + $13 }' <<<"$stat"
    done
}

# Busiest thread between two thread_ticks snapshots, in % of one core.
busiest_thread_pct() { # before after seconds
    awk -v secs="$3" -v hz="$CLK_TCK" '
        NR == FNR { before[$1] = $2; next }
        { d = $2 - before[$1]; if (d > max) max = d }
        END { printf "%.0f", 100 * max / hz / secs }' <(echo "$1") <(echo "$2")
}

# Machine-wide busy and total jiffies ("busy total"), from /proc/stat.
machine_ticks() {
    awk '/^cpu / { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i;
                   print total - idle, total }' /proc/stat
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

udp_rcvbuf_errors() {
    awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' \
        /proc/net/snmp
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
pct() { awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (s > 0) ? 100 * t / hz / s : 0 }'; }

# Calls the engine has in progress = its UDP sockets in the RTP range.
engine_calls() {
    { ss -Huanp "sport >= :$RTP_MIN and sport <= :$RTP_MAX" 2>/dev/null || true; } |
        { grep -c "pid=$ENGINE_PID," || true; }
}

# True while the process runs (a zombie, exited but not yet waited for, is not).
running() {
    local stat
    [[ -n $1 ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

engine_alive() {
    running "$ENGINE_PID" && return 0
    if [[ $ENGINE_DIED == 0 ]]; then
        ENGINE_DIED=1
        ENGINE_EXIT=0
        wait "$ENGINE_PID" 2>/dev/null || ENGINE_EXIT=$?
        log "ENGINE IS GONE (exit status $ENGINE_EXIT); last log lines:"
        tail -n 20 "$ENGINE_LOG" >&2 || true
    fi
    return 1
}

wait_engine_idle() { # timeout seconds
    local deadline=$((SECONDS + $1))
    while engine_alive && (($(engine_calls) > 0)) && ((SECONDS < deadline)); do
        sleep 0.5
    done
}

# Starts SIPp in the background, in directory $1, with the rest as arguments.
start_sipp() {
    local dir=$1
    shift
    mkdir -p "$dir"
    (cd "$dir" && exec sipp "$@" </dev/null >/dev/null 2>sipp.stderr) &
    SIPP_PID=$!
}

# Waits for SIPp to exit by itself, at most $1 seconds; then stops it. Sets
# SIPP_STATUS (its exit status, or "killed") and SIPP_TICKS (the CPU time it
# had used when last seen running, in clock ticks).
wait_sipp() {
    local deadline=$((SECONDS + $1)) ticks
    SIPP_TICKS=0
    while running "$SIPP_PID" && ((SECONDS < deadline)); do
        ticks=$(cpu_ticks "$SIPP_PID")
        ((ticks > 0)) && SIPP_TICKS=$ticks
        sleep 0.2
    done
    SIPP_STATUS=0
    if running "$SIPP_PID"; then
        log "SIPp still running after its deadline; stopping it"
        kill -TERM "$SIPP_PID" 2>/dev/null || true
        sleep 1
        kill -KILL "$SIPP_PID" 2>/dev/null || true
        wait "$SIPP_PID" 2>/dev/null || true
        SIPP_STATUS=killed
    else
        wait "$SIPP_PID" 2>/dev/null || SIPP_STATUS=$?
    fi
    SIPP_PID=""
}

# ------------------------------------------------- analysis (python helpers) --
cat >"$OUT/analyze.py" <<'PY'
"""Helpers for bench/run.sh: SIPp stat/rtt files, engine JSON logs, pcaps."""
import csv, json, struct, sys, sqlite3
from collections import defaultdict


def sipp_stats(path):
    """Last row of a SIPp -trace_stat file -> shell assignments."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, last = rows[0], rows[-1]
    row = dict(zip(header, last))
    def n(key):
        try:
            return int(row.get(key, "0") or 0)
        except ValueError:
            return 0
    reasons = []
    for key in header:
        if key.startswith("Failed") and key.endswith("(C)") and key != "FailedCall(C)" and n(key):
            reasons.append(f"{key[6:-3]}={n(key)}")
    print(f"created={n('TotalCallCreated')}")
    print(f"succeeded={n('SuccessfulCall(C)')}")
    print(f"failed={n('FailedCall(C)')}")
    print(f"retrans={n('Retransmissions(C)')}")
    print(f"reasons='{','.join(reasons) or '-'}'")


def rtt(path, name):
    """Response times of one rtd from a SIPp -trace_rtt file."""
    times, values = [], []
    with open(path) as f:
        next(f, None)
        for line in f:
            parts = line.strip().split(";")
            if len(parts) == 3 and parts[2] == name:
                times.append(float(parts[0]))
                values.append(float(parts[1]))
    values.sort()
    def q(p):
        return values[min(len(values) - 1, int(p * len(values)))] if values else 0
    span = (times[-1] - times[0]) / 1000 if len(times) > 1 else 0
    rate = (len(times) - 1) / span if span > 0 else 0
    print(f"rtt_n={len(values)}")
    print(f"rtt_p50={q(0.50):.0f}")
    print(f"rtt_p95={q(0.95):.0f}")
    print(f"rtt_p99={q(0.99):.0f}")
    print(f"rtt_max={values[-1] if values else 0:.0f}")
    print(f"achieved={rate:.1f}")


def engine_log(path, start, end, hold_s):
    """'call ended' lines in a byte range of the engine's JSON log."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start).decode("utf-8", "replace")
    ended = 0
    by = defaultdict(int)
    sent = received = 0
    levels = defaultdict(int)
    panics = 0
    for line in data.splitlines():
        if "panicked" in line:
            panics += 1
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        levels[entry.get("level", "?")] += 1
        fields = entry.get("fields", {})
        if fields.get("message") == "call ended":
            ended += 1
            by[f"{fields.get('hangup_by')}/{fields.get('cause')}"] += 1
            sent += int(fields.get("rtp_sent", 0))
            received += int(fields.get("rtp_received", 0))
    expected = ended * float(hold_s) * 50
    print(f"log_ended={ended}")
    print(f"log_causes='{','.join(f'{k}={v}' for k, v in sorted(by.items())) or '-'}'")
    print(f"log_sent_ratio={(sent / expected) if expected else 0:.3f}")
    print(f"log_recv_ratio={(received / sent) if sent else 0:.3f}")
    print(f"log_warn={levels.get('WARN', 0)}")
    print(f"log_error={levels.get('ERROR', 0)}")
    print(f"log_panics={panics}")


def pcap(path):
    """Engine -> SIPp RTP in a pcap: packets/s and per-stream packet gaps."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        data = b""
    if len(data) < 24:
        print("cap_pps=0\ncap_flows=0\ncap_gap_p50=0\ncap_gap_p99=0\ncap_gap_max=0\ncap_late=0")
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    offset = 24
    flows = defaultdict(list)
    first = last = None
    count = 0
    while offset + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        packet = data[offset + 16:offset + 16 + incl]
        offset += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        # Linux cooked (113), cooked v2 (276), Ethernet (1), null/loopback (0).
        link = {113: 16, 276: 20, 1: 14, 0: 4}.get(linktype, 14)
        ip = packet[link:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        src_port = struct.unpack(">H", ip[ihl:ihl + 2])[0]
        flows[src_port].append(t)
        count += 1
        first = t if first is None else first
        last = t
    gaps = []
    for times in flows.values():
        gaps.extend(b - a for a, b in zip(times, times[1:]))
    gaps.sort()
    def q(p):
        return gaps[min(len(gaps) - 1, int(p * len(gaps)))] * 1000 if gaps else 0
    span = (last - first) if count > 1 else 0
    late = sum(1 for g in gaps if g > 0.040) / len(gaps) if gaps else 0
    print(f"cap_pps={count / span if span else 0:.0f}")
    print(f"cap_flows={len(flows)}")
    print(f"cap_gap_p50={q(0.5):.1f}")
    print(f"cap_gap_p99={q(0.99):.1f}")
    print(f"cap_gap_max={gaps[-1] * 1000 if gaps else 0:.1f}")
    print(f"cap_late={100 * late:.2f}")


def socket_drops(echo_port, low, high):
    """Kernel drop counters of UDP sockets (/proc/net/udp, last column)."""
    echo_port, low, high = int(echo_port), int(low), int(high)
    echo = engine = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            parts = line.split()
            port = int(parts[1].split(":")[1], 16)
            drops = int(parts[-1])
            if port in (echo_port, echo_port + 2):
                echo += drops
            elif low <= port <= high:
                engine += drops
    print(f"drops_echo={echo}")
    print(f"drops_engine={engine}")


def db_ended(path):
    """Calls the call log already shows as ended."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        print(con.execute("SELECT count(*) FROM calls WHERE state = 'ended'").fetchone()[0])
    except sqlite3.Error:
        print(0)


def db(path):
    """The call log: how many calls, and how many are not 'ended'."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    total = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    rows = con.execute("SELECT state, count(*) FROM calls GROUP BY state").fetchall()
    print(f"db_total={total}")
    print(f"db_states='{','.join(f'{s}={n}' for s, n in rows) or '-'}'")
    print(f"db_not_ended={sum(n for s, n in rows if s != 'ended')}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "engine_log":
        engine_log(args[0], int(args[1]), int(args[2]), args[3])
    else:
        {"sipp_stats": sipp_stats, "rtt": rtt, "pcap": pcap, "db": db, "db_ended": db_ended,
         "socket_drops": socket_drops}[command](*args)
PY
analyze() { python3 "$OUT/analyze.py" "$@"; }

# -------------------------------------------------------------------- build --
if [[ $SKIP_BUILD != 1 ]]; then
    log "building the release binary into $TARGET_DIR"
    (cd "$REPO" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --bin switchboard) >&2
fi
[[ -x $BIN ]] || { echo "bench: no binary at $BIN" >&2; exit 2; }

# ------------------------------------------------------ engine start/stop --
SIPP_PORT=$(free_port)
SETUP_MEDIA_PORT=$(free_port pair)
LONG_MEDIA_PORT=$(free_port pair)
mkdir -p "$OUT/recordings"

# Starts a fresh engine for one phase: engine-NAME.toml, engine-NAME.log.
start_engine() {
    local name=$1
    SIP_PORT=$(free_port)
    ENGINE_LOG="$OUT/engine-$name.log"
    cat >"$OUT/engine-$name.toml" <<EOF
# Written by bench/run.sh
[sip]
listen = "127.0.0.1:$SIP_PORT"

[rtp]
port_min = $RTP_MIN
port_max = $RTP_MAX
media_timeout_secs = 600

[database]
url = "sqlite://$OUT/bench.db"

[paths]
dialplans = "$BENCH_DIR/dialplans"
prompts = "$REPO/prompts"
recordings = "$OUT/recordings"

[routes]
"*" = "bench"

[log]
format = "json"
# Per call: "incoming call" and "call ended" (with rtp_sent/rtp_received).
level = "warn,switchboard=info"
EOF
    "$BIN" -c "$OUT/engine-$name.toml" serve >"$ENGINE_LOG" 2>&1 &
    ENGINE_PID=$!
    ENGINE_DIED=0
    ENGINE_EXIT=""
    for _ in $(seq 1 100); do
        engine_alive || exit 1
        if ss -Htln "sport = :$SIP_PORT" 2>/dev/null | grep -q .; then
            break
        fi
        sleep 0.1
    done
    ss -Htln "sport = :$SIP_PORT" | grep -q . || { log "engine did not start listening"; exit 1; }
    ENGINE_IDLE_RSS=$(rss_kb "$ENGINE_PID")
    log "engine ($name phase): pid $ENGINE_PID on 127.0.0.1:$SIP_PORT, RTP $RTP_PORTS," \
        "idle RSS $((ENGINE_IDLE_RSS / 1024)) MB"
}

# Stops the engine with SIGINT (graceful shutdown) and checks how it went.
stop_engine() {
    local name=$1 peak panics warns errors pid=$ENGINE_PID
    peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$ENGINE_PID/status" 2>/dev/null || echo 0)
    if engine_alive; then
        kill -INT "$ENGINE_PID"
        for _ in $(seq 1 100); do
            running "$ENGINE_PID" || break
            sleep 0.1
        done
        if running "$ENGINE_PID"; then
            ENGINE_EXIT="still running 10 s after SIGINT"
            kill -KILL "$ENGINE_PID" 2>/dev/null || true
            wait "$ENGINE_PID" 2>/dev/null || true
        else
            ENGINE_EXIT=0
            wait "$ENGINE_PID" 2>/dev/null || ENGINE_EXIT=$?
        fi
    fi
    ENGINE_PID=""
    panics=$(grep -c "panicked" "$ENGINE_LOG" || true)
    warns=$(grep -c '"level":"WARN"' "$ENGINE_LOG" || true)
    errors=$(grep -c '"level":"ERROR"' "$ENGINE_LOG" || true)
    local how="exit status after SIGINT: ${ENGINE_EXIT:-?}"
    [[ $ENGINE_DIED == 1 ]] && how="DIED during the run, exit status $ENGINE_EXIT"
    ENGINE_NOTES+=("engine, $name phase (pid $pid): idle RSS at start $((ENGINE_IDLE_RSS / 1024)) MB, peak $((peak / 1024)) MB; log: $warns WARN, $errors ERROR, $panics panics; $how")
    if [[ $ENGINE_DIED == 1 ]]; then
        ENGINE_FAILURES+=("the engine died during the $name phase (exit status $ENGINE_EXIT)")
    elif [[ $ENGINE_EXIT != 0 ]]; then
        ENGINE_FAILURES+=("the engine did not stop cleanly after the $name phase ($ENGINE_EXIT)")
    fi
    if ((panics > 0)); then
        ENGINE_FAILURES+=("the $name-phase engine log has $panics panic(s): $(grep -m 3 panicked "$ENGINE_LOG")")
    fi
}

log "results in $OUT"
BENCH_STARTED=$SECONDS

# --------------------------------------------------------- 1. setup rate --
SETUP_ROWS=()
BEST_RATE=none
SETUP_RSS_NOTE="phase skipped"
SETUP_CALLS_SO_FAR=0
[[ -n $RATES ]] && start_engine setup
for rate in $RATES; do
    engine_alive || break
    calls=$((rate * SETUP_SECS))
    limit=$((rate * (SHORT_HOLD_MS / 1000 + 2) + 20))
    dir="$OUT/setup-$rate"
    log "setup rate $rate cps: $calls short calls (hold ${SHORT_HOLD_MS} ms, max $limit at once)"
    log_start=$(stat -c %s "$ENGINE_LOG")
    e0=$(cpu_ticks "$ENGINE_PID"); m0=$(machine_ticks); t0=$(now)
    start_sipp "$dir" 127.0.0.1:"$SIP_PORT" "${SIPP_IFACE[@]}" -p "$SIPP_PORT" -s 100 \
        -sf "$BENCH_DIR/sipp/short_call.xml" -d "$SHORT_HOLD_MS" \
        -r "$rate" -m "$calls" -l "$limit" -rtp_echo -mp "$SETUP_MEDIA_PORT" \
        -nostdin -timeout $((SETUP_SECS * 3 + 30)) \
        -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 \
        -trace_err -error_file errors.log -trace_logs -log_file actions.log \
        -trace_screen -screen_file screen.log
    wait_sipp $((SETUP_SECS * 3 + 45))
    sipp_status=$SIPP_STATUS
    t1=$(now); e1=$(cpu_ticks "$ENGINE_PID"); m1=$(machine_ticks)
    db_ended_now=$(analyze db_ended "$OUT/bench.db")
    secs=$(elapsed "$t0" "$t1")
    sipp_cpu=$(pct "$SIPP_TICKS" "$secs")
    wait_engine_idle 15
    log_end=$(stat -c %s "$ENGINE_LOG")
    created=0 succeeded=0 failed=0 retrans=0 reasons=- rtt_p50=0 rtt_p95=0 rtt_p99=0 rtt_max=0 achieved=0
    [[ -f $dir/stat.csv ]] && eval "$(analyze sipp_stats "$dir/stat.csv")"
    rtt_file=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -n 1 || true)
    [[ -n $rtt_file ]] && eval "$(analyze rtt "$rtt_file" setup)"
    eval "$(analyze engine_log "$ENGINE_LOG" "$log_start" "$log_end" 0)"
    engine_cpu=$(pct $((e1 - e0)) "$secs")
    read -r mb0 mt0 <<<"$m0"; read -r mb1 mt1 <<<"$m1"
    machine=$(awk -v b=$((mb1 - mb0)) -v t=$((mt1 - mt0)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
    SETUP_CALLS_SO_FAR=$((SETUP_CALLS_SO_FAR + succeeded))
    log_lag=$((SETUP_CALLS_SO_FAR - db_ended_now))
    SETUP_ROWS+=("$(printf '%6s %7s %7s %6s %8s %6s %6s %6s %6s %7s %7s %6s %6s %5s  %s' \
        "$rate" "$created" "$succeeded" "$failed" "$achieved" \
        "$rtt_p50" "$rtt_p95" "$rtt_p99" "$rtt_max" "$engine_cpu" "$sipp_cpu" "$machine" "$log_lag" "$sipp_status" \
        "$reasons; engine log: $log_causes warn=$log_warn error=$log_error")")
    log "  -> $succeeded/$created ok, $failed failed ($reasons), ${achieved} cps achieved," \
        "setup p50/p99 ${rtt_p50}/${rtt_p99} ms, engine CPU ${engine_cpu}%, SIPp CPU ${sipp_cpu}%," \
        "machine ${machine}% busy, SIPp exit $sipp_status; call log $log_lag calls behind when SIPp ended"
    if ((failed == 0 && created == calls)) && [[ $sipp_status == 0 ]]; then
        BEST_RATE=$rate
    fi
done

if [[ -n $RATES ]] && engine_alive; then
    wait_engine_idle 20
    rss_busy=$(rss_kb "$ENGINE_PID")
    log "setup phase done; waiting ${IDLE_WAIT}s for SIP transaction timers, then reading idle RSS"
    sleep "$IDLE_WAIT"
    rss_idle=$(rss_kb "$ENGINE_PID")
    SETUP_RSS_NOTE="engine RSS $((ENGINE_IDLE_RSS / 1024)) MB before, $((rss_busy / 1024)) MB right after,"
    SETUP_RSS_NOTE+=" $((rss_idle / 1024)) MB after ${IDLE_WAIT}s idle"
fi
[[ -n $RATES ]] && stop_engine setup

# --------------------------------------------------------- 2. concurrency --
CONC_ROWS=()
STOP_REASON="phase skipped"
[[ -n $LEVELS ]] && start_engine concurrency && STOP_REASON="all levels done"
for level in $LEVELS; do
    engine_alive || { STOP_REASON="engine died"; break; }
    wait_engine_idle 20
    ramp=$(((level + RAMP_CPS - 1) / RAMP_CPS))
    hold_s=$((ramp + 3 + DURATION + CAPTURE_SECS + 6))
    dir="$OUT/level-$level"
    log "concurrency $level: starting calls at $RAMP_CPS cps, each held ${hold_s}s, measuring ${DURATION}s"
    log_start=$(stat -c %s "$ENGINE_LOG")
    rss_before=$(rss_kb "$ENGINE_PID")
    start_sipp "$dir" 127.0.0.1:"$SIP_PORT" "${SIPP_IFACE[@]}" -p "$SIPP_PORT" -s 100 \
        -sf "$BENCH_DIR/sipp/long_call.xml" -set hold_ms $((hold_s * 1000)) \
        -r "$RAMP_CPS" -m "$level" -l "$level" -rtp_echo -mp "$LONG_MEDIA_PORT" \
        -nostdin -timeout $((hold_s + 2 * ramp + 60)) \
        -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 \
        -trace_err -error_file errors.log -trace_logs -log_file actions.log \
        -trace_screen -screen_file screen.log
    # Wait until every call is up (the engine holds one RTP socket per call).
    deadline=$((SECONDS + ramp + 15))
    up=0
    while ((SECONDS < deadline)) && running "$SIPP_PID" && engine_alive; do
        up=$(engine_calls)
        ((up >= level)) && break
        sleep 0.5
    done
    sleep 2
    # Steady window: CPU of the engine, SIPp and the machine; UDP drops.
    e0=$(cpu_ticks "$ENGINE_PID"); s0=$(cpu_ticks "$SIPP_PID"); st0=$(thread_ticks "$SIPP_PID")
    m0=$(machine_ticks); u0=$(udp_rcvbuf_errors); t0=$(now)
    sleep "$DURATION"
    e1=$(cpu_ticks "$ENGINE_PID"); s1=$(cpu_ticks "$SIPP_PID"); st1=$(thread_ticks "$SIPP_PID")
    m1=$(machine_ticks); u1=$(udp_rcvbuf_errors); t1=$(now)
    secs=$(elapsed "$t0" "$t1")
    rss=$(rss_kb "$ENGINE_PID")
    up_end=$(engine_calls)
    eval "$(analyze socket_drops "$LONG_MEDIA_PORT" "$RTP_MIN" "$RTP_MAX")"
    engine_alive || true
    # RTP sample: engine -> SIPp packets, after the CPU window so tcpdump's own
    # cost does not count.
    cap_pps=0 cap_flows=0 cap_gap_p50=0 cap_gap_p99=0 cap_gap_max=0 cap_late=0 cap_drops=-
    if [[ $HAVE_TCPDUMP == 1 ]]; then
        tcpdump -i lo -n -s 64 -B 32768 -w "$dir/rtp.pcap" \
            "udp and dst host 127.0.0.1 and dst port $LONG_MEDIA_PORT and src portrange $RTP_PORTS" \
            >/dev/null 2>"$dir/tcpdump.stderr" &
        TCPDUMP_PID=$!
        sleep "$CAPTURE_SECS"
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
        TCPDUMP_PID=""
        cap_drops=$(awk '/dropped by kernel/ { print $1 }' "$dir/tcpdump.stderr" 2>/dev/null || true)
        eval "$(analyze pcap "$dir/rtp.pcap")"
        rm -f "$dir/rtp.pcap"
    fi
    wait_sipp $((hold_s + 2 * ramp + 90))
    sipp_status=$SIPP_STATUS
    wait_engine_idle 20
    log_end=$(stat -c %s "$ENGINE_LOG")
    created=0 succeeded=0 failed=0 retrans=0 reasons=- rtt_p50=0 rtt_p99=0 rtt_max=0 achieved=0
    [[ -f $dir/stat.csv ]] && eval "$(analyze sipp_stats "$dir/stat.csv")"
    rtt_file=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -n 1 || true)
    [[ -n $rtt_file ]] && eval "$(analyze rtt "$rtt_file" setup)"
    eval "$(analyze engine_log "$ENGINE_LOG" "$log_start" "$log_end" "$hold_s")"

    engine_cpu=$(pct $((e1 - e0)) "$secs")
    sipp_cpu=$(pct $((s1 - s0)) "$secs")
    sipp_thread=$(busiest_thread_pct "$st0" "$st1" "$secs")
    read -r mb0 mt0 <<<"$m0"; read -r mb1 mt1 <<<"$m1"
    machine=$(awk -v b=$((mb1 - mb0)) -v t=$((mt1 - mt0)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
    cpu_per_100=$(awk -v c="$engine_cpu" -v n="$level" 'BEGIN { printf "%.1f", 100 * c / n }')
    kb_per_call=$(awk -v a="$rss" -v b="$ENGINE_IDLE_RSS" -v n="$level" 'BEGIN { printf "%.0f", (a - b) / n }')
    if [[ $ENGINE_DIED == 1 ]]; then
        engine_cpu=dead cpu_per_100=- kb_per_call=- rss=0
    fi
    expected_pps=$((level * 50))
    udp_drops=$((u1 - u0))
    CONC_ROWS+=("$(printf '%6s %6s %6s %6s %7s %7s %6s %6s %7s %7s %12s %6s %6s %7s %7s %8s %5s' \
        "$level" "$up_end" "$failed" "$engine_cpu" "$cpu_per_100" "$sipp_cpu" "$sipp_thread" "$machine" \
        "$((rss / 1024))" "$kb_per_call" "$cap_pps/$expected_pps" "$cap_gap_p99" "$cap_gap_max" \
        "$log_sent_ratio" "$drops_engine" "$drops_echo" "$sipp_status")")
    log "  -> $up_end/$level up in the window, $succeeded ok, $failed failed ($reasons);" \
        "engine CPU ${engine_cpu}%, RSS $((rss / 1024)) MB (${kb_per_call} KB/call);" \
        "SIPp ${sipp_cpu}% (busiest thread ${sipp_thread}%); machine ${machine}% busy"
    log "     RTP sample ${cap_pps}/${expected_pps} pkt/s from $cap_flows streams," \
        "gap p50/p99/max ${cap_gap_p50}/${cap_gap_p99}/${cap_gap_max} ms, late ${cap_late}%," \
        "tcpdump drops ${cap_drops:-?}; engine log: ${log_ended} ended ($log_causes)," \
        "rtp_sent ${log_sent_ratio}x of 50/s, echoed back ${log_recv_ratio}x;" \
        "UDP drops: engine sockets $drops_engine, SIPp echo socket $drops_echo, machine-wide $udp_drops in the window"
    echo "level=$level up=$up_end created=$created succeeded=$succeeded failed=$failed reasons=$reasons" \
        "engine_cpu=$engine_cpu sipp_cpu=$sipp_cpu sipp_thread=$sipp_thread machine=$machine" \
        "rss_kb=$rss rss_before_kb=$rss_before cap_pps=$cap_pps cap_flows=$cap_flows" \
        "gap_p50=$cap_gap_p50 gap_p99=$cap_gap_p99 gap_max=$cap_gap_max late_pct=$cap_late" \
        "cap_drops=${cap_drops:-?} sent_ratio=$log_sent_ratio recv_ratio=$log_recv_ratio" \
        "causes=$log_causes udp_drops=$udp_drops drops_engine=$drops_engine drops_echo=$drops_echo" \
        "sipp_exit=$sipp_status" >>"$OUT/levels.txt"

    # Stop at the first level that fails, falls behind or saturates SIPp.
    if ! engine_alive; then STOP_REASON="engine died at $level calls"; break; fi
    if ((failed > 0 || up_end < level)) || [[ $sipp_status != 0 ]]; then
        STOP_REASON="calls failed at $level (failed=$failed, up=$up_end/$level, SIPp exit $sipp_status)"
        break
    fi
    if [[ $HAVE_TCPDUMP == 1 ]] && awk -v p="$cap_pps" -v e="$expected_pps" -v l="$cap_late" \
        'BEGIN { exit !(p < 0.95 * e || l > 1) }'; then
        STOP_REASON="engine RTP fell behind at $level ($cap_pps of $expected_pps pkt/s, ${cap_late}% gaps > 40 ms)"
        break
    fi
    if awk -v r="$log_sent_ratio" 'BEGIN { exit !(r < 0.97) }'; then
        STOP_REASON="engine sent only ${log_sent_ratio}x the expected RTP at $level"
        break
    fi
    if ((sipp_thread >= SIPP_SATURATED_PCT)); then
        STOP_REASON="SIPp saturated at $level (busiest thread ${sipp_thread}% of a core)"
        break
    fi
done

# ---------------------------------------------------------------- shutdown --
[[ -n $LEVELS ]] && stop_engine concurrency
eval "$(analyze db "$OUT/bench.db" 2>/dev/null || echo "db_total=? db_states=? db_not_ended=?")"

# ----------------------------------------------------------------- summary --
{
    echo
    echo "==================== Switchboard benchmark ===================="
    echo "binary   $BIN"
    echo "machine  $(nproc) cores, shared by the engine, SIPp and anything else running"
    echo "results  $OUT   (summary.txt, engine-*.log, setup-*/, level-*/)"
    echo "runtime  $((SECONDS - BENCH_STARTED)) s"
    echo
    echo "1. Call setup rate: short calls (INVITE/200/ACK, ${SHORT_HOLD_MS} ms, BYE), ${SETUP_SECS} s per rate"
    printf '%6s %7s %7s %6s %8s %6s %6s %6s %6s %7s %7s %6s %6s %5s  %s\n' \
        "cps" "calls" "ok" "failed" "achieved" "p50ms" "p95ms" "p99ms" "maxms" "engCPU%" "sippCPU" "mach%" "logLag" "exit" "failure reasons"
    printf '%s\n' "${SETUP_ROWS[@]:-}"
    [[ -n $RATES ]] && echo "highest rate with 0 failed calls: $BEST_RATE cps"
    echo "memory: $SETUP_RSS_NOTE"
    echo
    echo "2. Concurrency: IVR calls with RTP both ways (SIPp -rtp_echo), ${DURATION} s steady window per level"
    echo "(a fresh engine; its idle RSS is the KB/call baseline)"
    printf '%6s %6s %6s %6s %7s %7s %6s %6s %7s %7s %12s %6s %6s %7s %7s %8s %5s\n' \
        "calls" "up" "failed" "engCPU" "CPU/100" "sippCPU" "sippT" "mach%" "RSS_MB" "KB/call" \
        "RTPpps" "gap99" "gapmax" "sent/x" "dropEng" "dropEcho" "exit"
    printf '%s\n' "${CONC_ROWS[@]:-}"
    echo "stopped: $STOP_REASON"
    echo
    echo "call log: $db_total calls ($db_states); not ended after the run: $db_not_ended"
    printf '%s\n' "${ENGINE_NOTES[@]}"
    echo
    echo "Columns: cps = target rate; achieved = setups/s measured from SIPp's 200 OK times;"
    echo "p50..max = INVITE->200 OK in ms (SIPp has 1 ms resolution, 0 = under 1 ms);"
    echo "logLag = calls SIPp had finished that the call log did not yet show as ended when SIPp exited;"
    echo "engCPU/sippCPU = % of ONE core (max $(( $(nproc) * 100 ))); CPU/100 = engine % per 100 calls;"
    echo "sippT = SIPp's busiest thread; mach% = whole machine busy (all cores);"
    echo "KB/call = (RSS - idle RSS at start) / calls; RTPpps = engine->caller RTP packets/s"
    echo "measured by tcpdump / expected (50 per call); gap99/gapmax = packet spacing per stream (ms,"
    echo "20 expected); sent/x = rtp_sent over the whole call / (50 x call length), from the engine log;"
    echo "dropEng/dropEcho = packets the kernel dropped because the engine's RTP sockets / SIPp's echo"
    echo "socket were full (/proc/net/udp, counted from call start); exit = SIPp exit status (0 = all ok)."
} | tee "$OUT/summary.txt"

status=0
for failure in "${ENGINE_FAILURES[@]}"; do
    echo "FAIL: $failure" >&2
    status=1
done
exit "$status"
