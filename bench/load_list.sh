#!/usr/bin/env bash
# Benchmark: load a 1,000,000-row call list through the real CLI into a fresh
# SQLite database (parse CSV, normalise to E.164, check DNC, insert leads).
# Usage: bench/load_list.sh [ROWS]   (default 1000000; set CARGO_TARGET_DIR to reuse a build)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/switchboard"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$rows" "$work/list.csv" <<'PY'
import random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
random.seed(7)
zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", ""]
areas = [201, 202, 212, 213, 305, 312, 404, 415, 512, 617, 646, 702, 713, 718, 917]
with open(path, "w") as out:
    out.write("phone,name,tz,account,plan\n")
    for i in range(rows):
        area, line = random.choice(areas), random.randint(2000000, 9999999)
        style = i % 4
        if i % 50 == 0:
            number = "555-12"                                   # invalid (2%)
        elif style == 0:
            number = f"+1{area}{line}"
        elif style == 1:
            number = f"({area}) {str(line)[:3]}-{str(line)[3:]}"
        elif style == 2:
            number = f"{area}.{str(line)[:3]}.{str(line)[3:]}"
        else:
            number = f"1-{area}-{str(line)[:3]}-{str(line)[3:]}"
        out.write(f"{number},Customer {i},{random.choice(zones)},{100000 + i},gold\n")
PY
db="sqlite://$work/bench.db"
"$bin" --database "$db" campaign create bench --dialplan hotline --trunk main --caller-id +12125550000 >/dev/null 2>&1
size=$(du -h "$work/list.csv" | cut -f1)
echo "loading $rows rows ($size CSV) into a fresh SQLite database..."
start=$(date +%s.%N)
"$bin" --database "$db" campaign load bench "$work/list.csv" --map phone=phone,name=name,timezone=tz 2>/dev/null | tail -n 1
end=$(date +%s.%N)
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'wall time {s:.2f} s, {int(sys.argv[3])/s:,.0f} rows/s')" "$start" "$end" "$rows"
