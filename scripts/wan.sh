#!/usr/bin/env bash
# Wide-area figures: every party (and the dealer) of a training in its own network namespace, with a `tc tbf`
# bandwidth limit on both ends of its veth link and an `mpc relay` in front of it (in the root namespace) that
# adds the one-way delay and loss; the roster points at the relays, so every connection crosses one relay.
# Each line gives the measured time beside the predictions `rounds x RTT + bytes / bandwidth` and
# `rounds x RTT / 2 + bytes / bandwidth` (a round in which every party sends, then receives, waits one one-way
# delay), from the run's own counts (the busiest party's rounds and bytes sent, as `mpc train` prints them) and
# from `mpc bench --json`'s counts for its version of the task (the same data split differently). It also measures the relays' own cost: the same run on loopback, direct
# and through relays with no delay.
#
# usage: sudo scripts/wan.sh [SCENARIO...]   (needs root, ip, tc, python3 and `cargo build --release`)
#   scenarios: overhead, bc (breast cancer at 20 ms and 100 Mbit/s), bc50 (50 ms), bcloss (20 ms, 1% loss),
#              synth (100,000 synthetic rows, 2 parties, dealer, 20 ms), synth-ot (the same with ot; long)
#   default: overhead bc bc50 bcloss
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MPC=${MPC:-$ROOT/target/release/mpc}
[ -x "$MPC" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/mpc-wan.XXXXXX)
TAG=$(( $$ % 10000 ))
SUB=$(( $$ % 200 + 20 ))
GW=10.78.$SUB.1
BRIDGE=mwsb$TAG
NS=()
RELAYS=()

cleanup() {
  for p in "${RELAYS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

host() { echo "10.78.$SUB.$((10 + $1))"; }

# lab_up N RATE: N namespaces on a fresh bridge, each link limited to RATE (a tc rate, or "none").
lab_up() {
  lab_down
  ip link add "$BRIDGE" type bridge
  ip addr add "$GW/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for ((i = 0; i < $1; i++)); do
    local ns=mpc-wansh-$TAG-$i out=mws${TAG}x$i in=mws${TAG}y$i
    ip netns add "$ns"; NS+=("$ns")
    ip link add "$out" type veth peer name "$in"
    ip link set "$in" netns "$ns"
    ip link set "$out" master "$BRIDGE"; ip link set "$out" up
    ip netns exec "$ns" ip addr add "$(host "$i")/24" dev "$in"
    ip netns exec "$ns" ip link set "$in" up
    ip netns exec "$ns" ip link set lo up
    if [ "$2" != none ]; then
      tc qdisc add dev "$out" root tbf rate "$2" burst 128kb latency 50ms
      ip netns exec "$ns" tc qdisc add dev "$in" root tbf rate "$2" burst 128kb latency 50ms
    fi
  done
}

lab_down() {
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  NS=()
  ip link del "$BRIDGE" 2>/dev/null || true
}

relays_down() {
  for p in "${RELAYS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  RELAYS=()
}

# start_relay LOG LISTEN UPSTREAM DELAY LOSS SEED: an `mpc relay` in the background, once it listens.
start_relay() {
  "$MPC" relay --listen "$2" --upstream "$3" --delay "$4" --loss "$5" --seed "$6" >"$1" 2>&1 &
  RELAYS+=($!)
  for _ in $(seq 100); do grep -q listening "$1" 2>/dev/null && return; sleep 0.05; done
  echo "relay did not start: $(cat "$1")" >&2; exit 1
}

# configs DIR PREP EPOCHS BATCH LABEL ID_COLUMN ADDRS LISTENS FILES...: keys and one config per endpoint (a
# dealer last if PREP is dealer); ADDRS and LISTENS are space-separated host:port lists, one per endpoint.
configs() {
  local dir=$1 prep=$2 epochs=$3 batch=$4 label=$5 idcol=$6; shift 6
  local -a addrs=($1) listens=($2); shift 2
  local -a files=("$@")
  local n=${#files[@]} total=${#addrs[@]} roster="" i
  mkdir -p "$dir"
  for ((i = 0; i < total; i++)); do
    local name=party-$i flag=""
    if [ "$prep" = dealer ] && [ "$i" = "$n" ]; then name=dealer; flag=--dealer; fi
    "$MPC" keygen --name "$name" --out "$dir/keys" >/dev/null
    roster+=$'\n'$("$MPC" roster-entry --id "$i" --name "$name" --address "${addrs[$i]}" \
      --certificate "$dir/keys/$name.crt" $flag)$'\n'
  done
  for ((i = 0; i < total; i++)); do
    local name=party-$i
    [ "$prep" = dealer ] && [ "$i" = "$n" ] && name=dealer
    {
      printf 'session_id = "wan"\nparty_id = %d\nkey = "keys/%s.key"\ncertificate = "keys/%s.crt"\n' "$i" "$name" "$name"
      printf 'listen = "%s"\n\n[network]\nconnect_timeout_secs = 60\nidle_timeout_secs = 30\n' "${listens[$i]}"
      if [ "$i" -lt "$n" ]; then
        printf '\n[train]\ndata = "%s"\nlabel = "%s"\n' "${files[$i]}" "$label"
        [ -n "$idcol" ] && printf 'id_column = "%s"\n' "$idcol"
        printf 'solver = "gradient_descent"\nepochs = %d\nbatch_size = %d\npreprocessing = "%s"\nout = "out-%d"\n' \
          "$epochs" "$batch" "$prep" "$i"
      fi
      printf '%s\n' "$roster"
    } >"$dir/party-$i.toml"
  done
}

# run DIR TOTAL NETNS(yes/no): runs every endpoint, prints "wall train_s rounds bytes" (train_s, rounds and
# bytes: the largest over the computing parties).
run() {
  local dir=$1 total=$2 netns=$3 i pids=() t0 t1
  t0=$(date +%s.%N)
  for ((i = 0; i < total; i++)); do
    if [ "$netns" = yes ]; then
      (cd "$dir" && exec ip netns exec "${NS[$i]}" "$MPC" train --config "party-$i.toml") >"$dir/log-$i" 2>&1 &
    else
      (cd "$dir" && exec "$MPC" train --config "party-$i.toml") >"$dir/log-$i" 2>&1 &
    fi
    pids+=($!)
  done
  for ((i = 0; i < total; i++)); do
    wait "${pids[$i]}" || { echo "endpoint $i failed:" >&2; cat "$dir/log-$i" >&2; exit 1; }
  done
  t1=$(date +%s.%N)
  cat "$dir"/log-* | awk -v wall="$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" '
    /trained in/ { for (k = 1; k <= NF; k++) { if ($k == "in") t = $(k+1); if ($k == "rounds,") r = $(k-1); if ($k == "bytes") b = $(k-1) }
                   if (t > T) T = t; if (r > R) R = r; if (b > B) B = b }
    END { printf "%.2f %.3f %.0f %.0f\n", wall, T, R, B }'
}

# bench_counts FILTER: "rounds_total bytes_per_party" of the first `mpc bench --json` figure matching FILTER.
bench_counts() {
  "$MPC" bench --json --runs 1 --filter "$1" 2>/dev/null | python3 -c '
import json, sys
f = json.loads(sys.stdin.readline())
print(f["rounds_total"], f["bytes_per_party"])'
}

HOSP=("$ROOT/data/hospital_a.csv" "$ROOT/data/hospital_b.csv" "$ROOT/data/hospital_c.csv")

# wan NAME PREP EPOCHS BATCH LABEL IDCOL RTT_MS RATE_MBIT LOSS BENCH_FILTER FILES...: one figure over namespaces.
wan() {
  local name=$1 prep=$2 epochs=$3 batch=$4 label=$5 idcol=$6 rtt=$7 mbit=$8 loss=$9 filter=${10}; shift 10
  local n=$# total=$# i addrs="" listens=""
  [ "$prep" = dealer ] && total=$((n + 1))
  lab_up "$total" "${mbit}mbit"
  local dir=$WORK/$name-$prep-$rtt-$mbit-$loss
  for ((i = 0; i < total; i++)); do
    start_relay "$dir-relay-$i.log" "$GW:$((7200 + i))" "$(host "$i"):7100" "$((rtt / 2))ms" "$loss" "$i"
    addrs+="$GW:$((7200 + i)) "; listens+="$(host "$i"):7100 "
  done
  configs "$dir" "$prep" "$epochs" "$batch" "$label" "$idcol" "$addrs" "$listens" "$@"
  read -r wall train rounds bytes < <(run "$dir" "$total" yes)
  relays_down
  lab_down
  read -r brounds bbytes < <(bench_counts "$filter")
  python3 - "$name" "$prep" "$rtt" "$mbit" "$loss" "$wall" "$train" "$rounds" "$bytes" "$brounds" "$bbytes" <<'PY'
import sys
name, prep, rtt, mbit, loss = sys.argv[1:6]
wall, train = float(sys.argv[6]), float(sys.argv[7])
rounds, nbytes, brounds, bbytes = map(int, sys.argv[8:12])
rtt_s, bps = float(rtt) / 1e3, float(mbit) * 1e6
def predict(r, b):
    # Two readings of a round: a full round trip (the brief's formula), or one one-way delay (every party
    # sends, then receives: what a round of these protocols waits for).
    return f"{r} rounds, {b/1e6:.2f} MB: {r * rtt_s + b * 8 / bps:.1f} s / {r * rtt_s / 2 + b * 8 / bps:.1f} s"
print(f"| {name} | {prep} | {rtt} ms | {mbit} Mbit/s | {float(loss):.0%} | {train:.2f} s | {wall:.2f} s | "
      f"{predict(rounds, nbytes)} | {predict(brounds, bbytes)} |")
PY
}

# overhead PREP: breast cancer on loopback, direct and through zero-delay relays, alternately 3 times each;
# prints every run's training time (slowest party) and wall time.
overhead() {
  local prep=$1 total=3 i rep base=$(( 20000 + $$ % 20000 )) listens="" relayed="" direct="" through=""
  [ "$prep" = dealer ] && total=4
  for ((i = 0; i < total; i++)); do listens+="127.0.0.1:$((base + i)) "; relayed+="127.0.0.1:$((base + 100 + i)) "; done
  for ((i = 0; i < total; i++)); do
    start_relay "$WORK/relay-loop-$prep-$i.log" "127.0.0.1:$((base + 100 + i))" "127.0.0.1:$((base + i))" 0ms 0 "$i"
  done
  for rep in 1 2 3; do
    configs "$WORK/direct-$prep-$rep" "$prep" 10 64 malignant patient_id "$listens" "$listens" "${HOSP[@]}"
    read -r wall train _ _ < <(run "$WORK/direct-$prep-$rep" "$total" no)
    direct+="$train s ($wall s wall); "
    configs "$WORK/relayed-$prep-$rep" "$prep" 10 64 malignant patient_id "$relayed" "$listens" "${HOSP[@]}"
    read -r wall train _ _ < <(run "$WORK/relayed-$prep-$rep" "$total" no)
    through+="$train s ($wall s wall); "
  done
  relays_down
  echo "| relay overhead, breast cancer, $prep, loopback | direct: $direct | through relays with 0 ms: $through |"
}

synthetic() {
  python3 - "$WORK" <<'PY'
import random, sys
rnd = random.Random(0); d = 20
w = [rnd.gauss(0, 1) for _ in range(d)]
files = [open(f"{sys.argv[1]}/synth-{i}.csv", "w") for i in range(2)]
for f in files:
    f.write(",".join(f"x{j}" for j in range(d)) + ",y\n")
for i in range(100000):
    x = [rnd.gauss(0, 1) for _ in range(d)]
    y = 1 if sum(a * b for a, b in zip(x, w)) + 0.5 * rnd.gauss(0, 1) > 0 else 0
    files[0 if i < 50000 else 1].write(",".join(f"{v:.6f}" for v in x) + f",{y}\n")
PY
}

echo "| task | preprocessing | RTT | bandwidth | loss | training (slowest party) | wall (start to last exit) | prediction (RTT / RTT/2) from this run's counts | the same from mpc bench --json's counts |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for s in "${@:-overhead bc bc50 bcloss}"; do
  for scenario in $s; do
    case $scenario in
      overhead) overhead dealer; overhead ot ;;
      bc) for p in dealer ot; do wan breast_cancer "$p" 10 64 malignant patient_id 20 100 0 "train.breast_cancer/quic/$p" "${HOSP[@]}"; done ;;
      bc50) for p in dealer ot; do wan breast_cancer "$p" 10 64 malignant patient_id 50 100 0 "train.breast_cancer/quic/$p" "${HOSP[@]}"; done ;;
      bcloss) for p in dealer ot; do wan breast_cancer "$p" 10 64 malignant patient_id 20 100 0.01 "train.breast_cancer/quic/$p" "${HOSP[@]}"; done ;;
      synth) synthetic; wan synthetic_100k dealer 1 128 y "" 20 100 0 "train.synthetic_100k/quic/dealer" "$WORK/synth-0.csv" "$WORK/synth-1.csv" ;;
      synth-ot) synthetic; wan synthetic_100k ot 1 128 y "" 20 100 0 "train.synthetic_100k/quic/ot" "$WORK/synth-0.csv" "$WORK/synth-1.csv" ;;
      *) echo "unknown scenario $scenario" >&2; exit 1 ;;
    esac
  done
done
