#!/usr/bin/env bash
# Gateway CPU per request by request path, at concurrency 32 (JSON chat completions, 1 KB):
#   bare         open gateway, request log off            -> OpenAI-compatible fake (pass-through)
#   pass-through master key, request log on               -> OpenAI-compatible fake
#   governed     virtual key with rpm/tpm limits and a budget, request log on -> same fake
#                (tpm counts prompt tokens with the real tokenizer; the same prompt again is a
#                cache hit, so it also runs with a different prompt every request), and the
#                same without tpm
#   anthropic    translated: OpenAI client -> Anthropic fake
#   bedrock      translated: OpenAI client -> Bedrock fake (SigV4, event stream framing unused)
# Everything on 127.0.0.1; wrk pinned to CPU 0, fakes and gateway to CPU 1 (BENCH_PIN=0: no
# pinning). Needs wrk (scripts/bench.sh installs it) and the release binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10}
OUT=bench/out/paths
rm -rf "$OUT" && mkdir -p "$OUT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -q -p switchyard -p switchyard-testkit
fi
BIN=target/release
LOAD="taskset -c ${BENCH_LOAD_CPUS:-0}"; SRV="taskset -c ${BENCH_SERVER_CPUS:-1}"
[ "${BENCH_PIN:-1}" = 1 ] || { LOAD=""; SRV=""; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

$SRV $BIN/switchyard-fake-upstream 127.0.0.1:19400 20 >"$OUT/fake-openai.log" 2>&1 & PIDS+=($!)
$SRV $BIN/switchyard-fake-upstream 127.0.0.1:19401 --provider anthropic >"$OUT/fake-anthropic.log" 2>&1 & PIDS+=($!)
$SRV $BIN/switchyard-fake-upstream 127.0.0.1:19402 --provider bedrock >"$OUT/fake-bedrock.log" 2>&1 & PIDS+=($!)
for p in 19400 19401 19402; do wait_port $p; done

config() { # $1 = extra top-level YAML
  cat <<YAML
listen: 127.0.0.1:19410
database: sqlite://$PWD/$OUT/switchyard.db
$1
providers:
  fake: { kind: openai_compatible, base_url: "http://127.0.0.1:19400/v1" }
  claude: { kind: anthropic, api_key: sk-fake-provider-key, base_url: "http://127.0.0.1:19401" }
  aws: { kind: bedrock, region: us-east-1, access_key_id: AKIAFAKEUPSTREAM01, secret_access_key: fake-upstream-secret, base_url: "http://127.0.0.1:19402" }
models:
  bench: { targets: [{ provider: fake, model: bench-model }], pricing: { input: 0.15, output: 0.6 } }
  anthropic: { targets: [{ provider: claude, model: claude-sonnet-4-5 }] }
  bedrock: { targets: [{ provider: aws, model: "anthropic.claude-3-5-sonnet-20240620-v1:0" }] }
YAML
}

python3 - "$OUT" <<'PY'
import json, sys
pad = "x" * 900
for m in ["bench", "anthropic", "bedrock"]:
    body = {"model": m, "max_tokens": 64, "messages": [{"role": "user", "content": "Hello " + pad}]}
    open(f"{sys.argv[1]}/body-{m}.json", "w").write(json.dumps(body))
PY

GW=0
start_gateway() { # $1 = extra YAML
  config "$1" > "$OUT/switchyard.yaml"
  rm -f "$OUT"/switchyard.db*
  $SRV $BIN/switchyard serve --config "$OUT/switchyard.yaml" >"$OUT/gateway.log" 2>&1 &
  GW=$!; PIDS+=($GW); wait_port 19410
}
stop_gateway() { kill "$GW"; wait "$GW" 2>/dev/null || true; }
ticks() { awk '{print $14 + $15}' "/proc/$GW/stat"; }

ROWS=()
measure() { # $1 name, $2 model, $3 key (or empty), $4 = 1: a different prompt every request
  export BENCH_UNIQUE="${4:-0}"
  BENCH_BODY="$OUT/body-$2.json" BENCH_AUTH="$3" $LOAD wrk -t1 -c32 -d2s -s bench/wrk.lua http://127.0.0.1:19410/v1/chat/completions >/dev/null
  local t0; t0=$(ticks)
  local line; line=$(BENCH_BODY="$OUT/body-$2.json" BENCH_AUTH="$3" $LOAD wrk -t1 -c32 -d"${DURATION}s" -s bench/wrk.lua http://127.0.0.1:19410/v1/chat/completions | grep '^BENCH')
  local t1; t1=$(ticks)
  local req; req=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  local rps; rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
  local p50; p50=$(sed -E 's/.*p50_us=([0-9.]+).*/\1/' <<<"$line")
  local errs; errs=$(sed -E 's/.*err_status=([0-9]+).*/\1/' <<<"$line")
  local hz; hz=$(getconf CLK_TCK)
  local cpu; cpu=$(awk -v a="$t0" -v b="$t1" -v r="$req" -v hz="$hz" 'BEGIN{printf "%.1f", (b-a)*1e6/hz/r}')
  ROWS+=("| $1 | $rps | $p50 | $cpu | $errs |")
}

start_gateway "governance: { request_log: false }"
measure "bare (open, no request log)" bench ""
stop_gateway

start_gateway "master_key: sk-bench-master"
measure "pass-through (master key, request log)" bench sk-bench-master
measure "translated -> Anthropic" anthropic sk-bench-master
measure "translated -> Bedrock" bedrock sk-bench-master
KEY=$(curl -s 127.0.0.1:19410/admin/keys -H "Authorization: Bearer sk-bench-master" -H "content-type: application/json" \
  -d '{"name":"bench","limits":{"rpm":100000000,"tpm":100000000000},"budget":{"max_usd":1000000,"period":"monthly"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
measure "governed (virtual key: rpm, tpm, budget; request log)" bench "$KEY"
measure "governed, every prompt new (tpm counts each one)" bench "$KEY" 1
KEY2=$(curl -s 127.0.0.1:19410/admin/keys -H "Authorization: Bearer sk-bench-master" -H "content-type: application/json" \
  -d '{"name":"bench2","limits":{"rpm":100000000,"max_parallel":1000},"budget":{"max_usd":1000000,"period":"monthly"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
measure "governed without tpm (virtual key: rpm, max_parallel, budget; request log)" bench "$KEY2"
stop_gateway

{
  echo "# Gateway CPU per request by path ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
  echo
  echo "JSON chat completion, 1 KB body, c=32, ${DURATION} s per row after 2 s warm-up."
  echo
  echo "| path | requests/s | p50 µs | gateway CPU µs/request | non-2xx |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/results.md"
