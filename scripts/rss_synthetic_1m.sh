#!/usr/bin/env bash
# Peak resident memory of each party of the 1,000,000 x 20 synthetic logistic-regression task, every party (and
# the dealer) its own `mpc train --config` process over loopback QUIC, measured by /usr/bin/time -v.
# usage: scripts/rss_synthetic_1m.sh [ROWS] [PREPROCESSING]   (defaults 1000000, dealer); needs python3 and a
# release build (cargo build --release). Writes into a temporary folder and prints one line per process.
set -euo pipefail
ROWS=${1:-1000000}
PREP=${2:-dealer}
MPC=$(cd "$(dirname "$0")/.." && pwd)/target/release/mpc
DIR=$(mktemp -d)
cd "$DIR"
python3 - "$ROWS" <<'PY'
import random, sys
rows = int(sys.argv[1]); rnd = random.Random(0); d = 20
w = [rnd.gauss(0, 1) for _ in range(d)]
files = [open(f"p{i}.csv", "w") for i in range(2)]
for f in files:
    f.write(",".join(f"x{j}" for j in range(d)) + ",y\n")
for i in range(rows):
    x = [rnd.gauss(0, 1) for _ in range(d)]
    y = 1 if sum(a * b for a, b in zip(x, w)) + 0.5 * rnd.gauss(0, 1) > 0 else 0
    files[0 if i < rows // 2 else 1].write(",".join(f"{v:.6f}" for v in x) + f",{y}\n")
PY
names=(party-0 party-1 dealer)
roster=""
for id in 0 1 2; do
  fp=$("$MPC" keygen --name "${names[$id]}" --out keys | awk '/^    [0-9A-F][0-9A-F]:/ {printf "%s%s", sep, $1; sep=":"}')
  role=""; [ "$id" = 2 ] && role='role = "dealer"'
  roster+=$'\n'"[[party]]"$'\n'"id = $id"$'\n'"name = \"${names[$id]}\""$'\n'"address = \"127.0.0.1:$((47100 + id))\""$'\n'"fingerprint = \"$fp\""$'\n'"$role"$'\n'
done
for id in 0 1 2; do
  train=""
  if [ "$id" != 2 ]; then
    train=$'[train]\n'"data = \"p$id.csv\""$'\nlabel = "y"\nepochs = 1\nbatch_size = 128\nlearning_rate = 0.1\n'"preprocessing = \"$PREP\""$'\nreceivers = [0]\n'"out = \"out-$id\""$'\n'
  fi
  printf 'session_id = "rss-1m"\nparty_id = %s\nkey = "keys/%s.key"\ncertificate = "keys/%s.crt"\nlisten = "127.0.0.1:%s"\n%s\n%s' \
    "$id" "${names[$id]}" "${names[$id]}" $((47100 + id)) "$train" "$roster" > "party-$id.toml"
done
pids=()
for id in 0 1 2; do
  /usr/bin/time -v "$MPC" train --config "party-$id.toml" > "log-$id.txt" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
for id in 0 1 2; do
  echo "${names[$id]}: $(grep -m1 'trained in\|served' "log-$id.txt" || tail -n 2 "log-$id.txt"); peak RSS $(awk '/Maximum resident/ {print $6}' "log-$id.txt") kB; wall $(awk '/Elapsed/ {print $8}' "log-$id.txt")"
done
echo "files in $DIR"
