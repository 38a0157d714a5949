#!/usr/bin/env bash
# Regenerate the Switchboard demo prompts from texts.tsv.
#
#   prompts/generate.sh            # (re)build every prompt
#
# Output: prompts/<language>/<name>.wav, 8000 Hz, mono, 16-bit signed PCM.
# Needs espeak-ng and sox (Debian/Ubuntu: apt-get install -y espeak-ng sox).
# Safe to run repeatedly and from any directory; files are overwritten in place.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
TEXTS="$HERE/texts.tsv"

# espeak-ng voice for each language folder. To add a language, add a line
# here and its rows in texts.tsv (see README.md).
declare -A VOICE=(
  [en]=en-us
  [es]=es
)
SPEED=150          # espeak-ng words per minute
PART_GAP=0.3       # seconds of silence between " || " parts of one prompt
EDGE_PAD=0.05      # seconds of silence kept at both ends of every prompt

for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "generate.sh: '$tool' not found (apt-get install -y espeak-ng sox)" >&2
    exit 1
  }
done
[[ -r "$TEXTS" ]] || { echo "generate.sh: cannot read $TEXTS" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf -- "$WORK"' EXIT

# -R: repeatable (fixed seeds, no timestamps); -D: no dither. Together they
# make the output byte-for-byte reproducible on the same espeak-ng/sox.
SOX=(sox -R -D -V1)

# Strip leading and trailing silence. Speech starts/ends where the level first
# exceeds 0.1% (-60 dBFS) for 10 ms, low enough not to clip soft consonants.
TRIM=(silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse)

voice_for() {
  local lang="$1"
  if [[ -z "${VOICE[$lang]+x}" ]]; then
    echo "generate.sh: no voice configured for language '$lang' (edit VOICE in generate.sh)" >&2
    exit 1
  fi
  printf '%s' "${VOICE[$lang]}"
}

# render_part LANG TEXT OUT.wav  -- one part: speech or @tone, silence-trimmed
render_part() {
  local lang="$1" text="$2" out="$3" voice
  if [[ "$text" =~ ^@tone[[:space:]]+([0-9.]+)[[:space:]]+([0-9.]+)$ ]]; then
    "${SOX[@]}" -n -r 8000 -c 1 -b 16 -e signed-integer "$out" \
      synth "${BASH_REMATCH[2]}" sine "${BASH_REMATCH[1]}" fade h 0.01 -0 0.01
    return
  fi
  # "@xx text": speak this part with language xx's voice.
  if [[ "$text" =~ ^@([A-Za-z-]+)[[:space:]]+(.*)$ ]]; then
    voice="$(voice_for "${BASH_REMATCH[1]}")"
    text="${BASH_REMATCH[2]}"
  else
    voice="$(voice_for "$lang")"
  fi
  printf '%s\n' "$text" | espeak-ng -b 1 -v "$voice" -s "$SPEED" --stdin -w "$WORK/raw.wav"
  "${SOX[@]}" "$WORK/raw.wav" -b 16 -e signed-integer "$out" "${TRIM[@]}"
}

# render LANG NAME TEXT
render() {
  local lang="$1" name="$2" text="$3"
  local dir="$HERE/$lang" parts=() rest="$text" i=0 files=()
  mkdir -p "$dir"
  while [[ "$rest" == *" || "* ]]; do
    parts+=("${rest%% || *}")
    rest="${rest#* || }"
  done
  parts+=("$rest")

  for part in "${parts[@]}"; do
    render_part "$lang" "$part" "$WORK/part$i.wav"
    if (( i < ${#parts[@]} - 1 )); then
      "${SOX[@]}" "$WORK/part$i.wav" "$WORK/gap$i.wav" pad 0 "$PART_GAP"
      files+=("$WORK/gap$i.wav")
    else
      files+=("$WORK/part$i.wav")
    fi
    i=$((i + 1))
  done

  # Join parts (they may differ in rate), then convert to telephone format.
  local joined=()
  for f in "${files[@]}"; do
    "${SOX[@]}" "$f" -r 8000 -c 1 -b 16 -e signed-integer "$f.8k.wav" rate 8000
    joined+=("$f.8k.wav")
  done
  "${SOX[@]}" "${joined[@]}" -r 8000 -c 1 -b 16 -e signed-integer "$WORK/out.wav" \
    norm -3 pad "$EDGE_PAD" "$EDGE_PAD"
  mv -f -- "$WORK/out.wav" "$dir/$name.wav"
  rm -f -- "$WORK"/part*.wav "$WORK"/gap*.wav
}

count=0
lineno=0
while IFS= read -r line || [[ -n "$line" ]]; do
  lineno=$((lineno + 1))
  line="${line%$'\r'}"
  [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
  IFS=$'\t' read -r lang name text <<<"$line"
  if [[ -z "${lang:-}" || -z "${name:-}" || -z "${text:-}" || ! "$name" =~ ^[A-Za-z0-9_]+$ ]]; then
    echo "generate.sh: texts.tsv line $lineno: expected language<TAB>name<TAB>text" >&2
    exit 1
  fi
  render "$lang" "$name" "$text"
  count=$((count + 1))
done <"$TEXTS"

echo "generate.sh: wrote $count prompts under $HERE"
