#!/usr/bin/env bash
# Overhead benchmark: a fast local fake OpenAI-compatible upstream, reached directly, through a
# bare nginx reverse proxy (Debian's nginx-light: the floor for one proxy hop) and through
# Switchyard, all on 127.0.0.1. Installs wrk and nginx-light with apt-get when missing, builds
# the release binaries, runs every scenario once and prints a markdown report that is also
# written to bench/out/results.md. See BENCHMARKS.md for the method.
#
# Environment knobs:
#   BENCH_DURATION=10        seconds measured per scenario and target (after the warm-up)
#   BENCH_WARMUP=2           seconds of warm-up traffic before each measured run
#   BENCH_STREAM_REQUESTS=3000  sequential streams for time to first event (after 300 warm-up)
#   BENCH_STREAM_EVENTS=20   content events per streamed response from the fake upstream
#   BENCH_PIN=1              pin with taskset (0: let the scheduler place everything)
#   BENCH_LOAD_CPUS=0 BENCH_SERVER_CPUS=1   taskset CPU lists: load generator / upstream+proxy
#   BENCH_PORT_BASE=19100    fake upstream on BASE, nginx on BASE+1, Switchyard on BASE+2
#   BENCH_PERF=0             1: also profile Switchyard with `perf` during an extra c=32 run
#   BENCH_SKIP_BUILD=0       1: use the release binaries already in the target directory
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
STREAM_REQUESTS=${BENCH_STREAM_REQUESTS:-3000}
STREAM_WARMUP=$((STREAM_REQUESTS / 10))
EVENTS=${BENCH_STREAM_EVENTS:-20}
PORT_BASE=${BENCH_PORT_BASE:-19100}
P_UP=$PORT_BASE
P_NGINX=$((PORT_BASE + 1))
P_SY=$((PORT_BASE + 2))
CHAT=/v1/chat/completions

die() {
  echo "bench: $*" >&2
  exit 1
}
step() { echo "== $*" >&2; }

# ---------------------------------------------------------------- tools
find_nginx() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
NGINX=$(find_nginx)
if ! command -v wrk >/dev/null || [ -z "$NGINX" ]; then
  command -v apt-get >/dev/null ||
    die "wrk and nginx are needed and apt-get is not available: install wrk and nginx, then rerun"
  SUDO=()
  [ "$(id -u)" = 0 ] || SUDO=(sudo)
  if ! apt-cache policy wrk | grep -q 'Candidate: [0-9]' ||
    ! apt-cache policy nginx-light | grep -q 'Candidate: [0-9]'; then
    step "apt-get update"
    "${SUDO[@]}" apt-get update -qq
  fi
  step "installing wrk and nginx-light"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends wrk nginx-light >&2
  NGINX=$(find_nginx)
  [ -n "$NGINX" ] || die "nginx not found after installing nginx-light"
fi
command -v wrk >/dev/null || die "wrk not found"

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  step "cargo build --release -p switchyard -p switchyard-testkit"
  cargo build --release -p switchyard -p switchyard-testkit >&2
fi
for b in switchyard switchyard-fake-upstream switchyard-bench-stream; do
  [ -x "$BIN/$b" ] || die "$BIN/$b is missing (build it or unset BENCH_SKIP_BUILD)"
done

# ---------------------------------------------------------------- placement
NPROC=$(nproc)
LOAD=()
SERVE=()
PIN_NOTE="no CPU pinning: load generator, upstream and proxy share all $NPROC CPUs"
if [ "${BENCH_PIN:-1}" != 0 ] && [ "$NPROC" -ge 2 ] && command -v taskset >/dev/null; then
  LOAD_CPUS=${BENCH_LOAD_CPUS:-0}
  SERVER_CPUS=${BENCH_SERVER_CPUS:-1}
  LOAD=(taskset -c "$LOAD_CPUS")
  SERVE=(taskset -c "$SERVER_CPUS")
  PIN_NOTE="load generator (wrk -t1, stream client) pinned to CPU $LOAD_CPUS; fake upstream and the proxy under test (nginx or Switchyard) pinned to CPU $SERVER_CPUS"
fi
# As many nginx workers as the proxy may use CPUs (Switchyard sizes its runtime the same way,
# from the affinity mask: on one CPU it runs tokio's single-threaded runtime).
WORKERS=$("${SERVE[@]}" nproc)

# ---------------------------------------------------------------- processes
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # PORT PID NAME
  local _
  for _ in $(seq 200); do
    port_open "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited at start-up: see bench/out/$3.log"
    sleep 0.05
  done
  die "$3 did not listen on 127.0.0.1:$1 within 10 s"
}
for p in "$P_UP" "$P_NGINX" "$P_SY"; do
  port_open "$p" && die "127.0.0.1:$p is in use (set BENCH_PORT_BASE)"
done

mkdir -p "$OUT"
rm -rf "$OUT/nginx" "$OUT"/switchyard.db*
mkdir -p "$OUT/nginx/tmp"

step "starting the fake upstream, nginx and Switchyard"
"${SERVE[@]}" "$BIN/switchyard-fake-upstream" "127.0.0.1:$P_UP" "$EVENTS" \
  >"$OUT/fake-upstream.log" 2>&1 &
UP_PID=$!
PIDS+=("$UP_PID")
wait_port "$P_UP" "$UP_PID" fake-upstream

sed -e "s#@PREFIX@#$OUT/nginx#g" -e "s#@UPSTREAM@#127.0.0.1:$P_UP#g" \
  -e "s#@LISTEN@#127.0.0.1:$P_NGINX#g" -e "s#@WORKERS@#$WORKERS#g" \
  "$ROOT/bench/nginx.conf.template" >"$OUT/nginx/nginx.conf"
"${SERVE[@]}" "$NGINX" -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" -e "$OUT/nginx/error.log" \
  >"$OUT/nginx.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port "$P_NGINX" "$NGINX_PID" nginx
NGINX_PIDS=("$NGINX_PID")
mapfile -t -O 1 NGINX_PIDS < <(pgrep -P "$NGINX_PID")
[ "${#NGINX_PIDS[@]}" -gt 1 ] || die "nginx started no worker process"

BENCH_SY_LISTEN=127.0.0.1:$P_SY BENCH_SY_DATABASE="sqlite://$OUT/switchyard.db" \
  BENCH_UPSTREAM=127.0.0.1:$P_UP \
  "${SERVE[@]}" "$BIN/switchyard" serve --config "$ROOT/bench/switchyard.yaml" \
  >"$OUT/switchyard.log" 2>&1 &
SY_PID=$!
PIDS+=("$SY_PID")
wait_port "$P_SY" "$SY_PID" switchyard

# ---------------------------------------------------------------- measuring helpers
CLK_TCK=$(getconf CLK_TCK)
# utime+stime (clock ticks) summed over the given processes, all threads included.
ticks() {
  local t=0 p f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat"
    # Fields 14 and 15 of proc(5) (0-based 13, 14): utime, stime. Our process names have no
    # spaces, so splitting on blanks keeps the numbering.
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
# write(2)/writev(2) calls made so far by the given processes (/proc/PID/task/TID/io syscw),
# leaving out Switchyard's SQLite threads (their writes go to the database, not to sockets).
# Threads can end between listing and reading: those read as 0.
writes() {
  local n=0 p d c w
  for p in "$@"; do
    for d in "/proc/$p/task"/*; do
      c=$(cat "$d/comm" 2>/dev/null) || continue
      [[ $c =~ $DB_THREADS ]] && continue
      w=$(awk '$1=="syscw:"{print $2}' "$d/io" 2>/dev/null) || true
      n=$((n + ${w:-0}))
    done
  done
  echo "$n"
}
# stime alone (clock ticks spent in the kernel) summed over the given processes.
sys_ticks() {
  local t=0 p f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat"
    t=$((t + f[14]))
  done
  echo "$t"
}
# utime+stime of the threads of PID whose name matches COMM_REGEX.
thread_ticks() { # PID COMM_REGEX
  local t=0 d f c
  for d in "/proc/$1/task"/*; do
    c=$(cat "$d/comm" 2>/dev/null) || continue
    [[ $c =~ $2 ]] || continue
    { read -r -a f <"$d/stat"; } 2>/dev/null || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
# CPU ticks of this shell's reaped children (the load generator runs), and of the whole machine.
child_ticks() {
  local f
  read -r -a f <"/proc/$$/stat"
  echo $((f[15] + f[16])) # cutime, cstime
}
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
status_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status"; }
kv() { grep -o " $2=[^ ]*" <<<" $1" | head -1 | cut -d= -f2 || true; }
calc() { awk "BEGIN{printf \"%.1f\", $*}"; }
int() { awk "BEGIN{printf \"%.0f\", $*}"; }
holds() { awk "BEGIN{exit !($*)}"; }

declare -A R         # R[scenario.target.key] = value
DB_THREADS='^sqlx'   # Switchyard's SQLite worker threads (request log and spend ledger writes)
BG_SAMPLES=()        # % of one CPU used by other processes during each measured run

# measure SCENARIO TARGET BILLED_PIDS... -- COMMAND...: warm-up is the caller's business; runs
# COMMAND, keeps its BENCH line, the proxy's CPU ticks and the background load.
measure() {
  local scen=$1 target=$2 billed=() cmd line key
  shift 2
  while [ "$1" != -- ]; do billed+=("$1"); shift; done
  shift
  cmd=("$@")
  local c0 u0 k0 b0 t0 c1 u1 k1 b1 t1 d0=0 d1=0
  if [ "$target" = switchyard ]; then d0=$(thread_ticks "$SY_PID" "$DB_THREADS"); fi
  local w0 w1
  w0=$(writes "${billed[@]}")
  local s0 s1
  s0=$(sys_ticks "${billed[@]}")
  c0=$(ticks "${billed[@]}"); u0=$(ticks "$UP_PID"); k0=$(child_ticks); b0=$(busy_ticks)
  t0=$(date +%s%N)
  line=$("${cmd[@]}" | grep '^BENCH') || die "$scen/$target: the load generator failed"
  t1=$(date +%s%N)
  c1=$(ticks "${billed[@]}"); u1=$(ticks "$UP_PID"); k1=$(child_ticks); b1=$(busy_ticks)
  s1=$(sys_ticks "${billed[@]}")
  R[$scen.$target.sys_ticks]=$((s1 - s0))
  w1=$(writes "${billed[@]}")
  R[$scen.$target.writes]=$((w1 - w0))
  if [ "$target" = switchyard ]; then d1=$(thread_ticks "$SY_PID" "$DB_THREADS"); fi
  R[$scen.$target.db_ticks]=$((d1 - d0))
  for key in requests rps p50_us p99_us max_us err_connect err_read err_write err_status \
    err_timeout first_byte_p50_us first_byte_p99_us first_event_p50_us first_event_p99_us \
    total_p50_us total_p99_us total_max_us events; do
    R[$scen.$target.$key]=$(kv "$line" "$key")
  done
  R[$scen.$target.cpu_ticks]=$((c1 - c0))
  R[$scen.$target.upstream_ticks]=$((u1 - u0))
  local other=$(((b1 - b0) - (c1 - c0) - (u1 - u0) - (k1 - k0)))
  [ "$other" -ge 0 ] || other=0
  BG_SAMPLES+=("$(calc "100 * $other / $CLK_TCK / (($t1 - $t0) / 1e9)")")
  local errs=0
  for key in err_connect err_read err_write err_status err_timeout; do
    errs=$((errs + ${R[$scen.$target.$key]:-0}))
  done
  R[$scen.$target.errors]=$errs
  echo "   $scen $target: $line" >&2
}

declare -A URL=([direct]="http://127.0.0.1:$P_UP$CHAT" [nginx]="http://127.0.0.1:$P_NGINX$CHAT"
  [switchyard]="http://127.0.0.1:$P_SY$CHAT")
declare -A ADDR=([direct]="127.0.0.1:$P_UP" [nginx]="127.0.0.1:$P_NGINX"
  [switchyard]="127.0.0.1:$P_SY")
TARGETS=(direct nginx switchyard)
billed_pids() {
  case $1 in
    nginx) echo "${NGINX_PIDS[@]}" ;;
    switchyard) echo "$SY_PID" ;;
  esac
}

# A chat completion request of exactly SIZE bytes (the user message is padded).
make_body() { # FILE SIZE STREAM(0|1)
  local head='{"model":"bench",' tail='"}]}'
  [ "$3" = 1 ] && head+='"stream":true,'
  head+='"messages":[{"role":"user","content":"'
  local pad=$(($2 - ${#head} - ${#tail}))
  { printf '%s' "$head"; head -c "$pad" /dev/zero | tr '\0' a; printf '%s' "$tail"; } >"$1"
}
make_body "$OUT/body-1k.json" 1024 0
make_body "$OUT/body-100k.json" 102400 0
make_body "$OUT/body-stream.json" 1024 1

wrk_run() { # TARGET BODY CONNS SECONDS
  BENCH_BODY=$2 "${LOAD[@]}" wrk -t1 -c"$3" -d"$4s" --timeout 5s -s "$ROOT/bench/wrk.lua" \
    "${URL[$1]}"
}
wrk_scenario() { # SCENARIO BODY CONNS
  local t
  for t in "${TARGETS[@]}"; do
    wrk_run "$t" "$2" "$3" "$WARMUP" >/dev/null
    # shellcheck disable=SC2046
    measure "$1" "$t" $(billed_pids "$t") -- wrk_run "$t" "$2" "$3" "$DURATION"
  done
}

# ---------------------------------------------------------------- sanity
for t in "${TARGETS[@]}"; do
  "${LOAD[@]}" "$BIN/switchyard-bench-stream" "${ADDR[$t]}" "$CHAT" "$OUT/body-stream.json" 1 0 \
    >/dev/null || {
    command -v curl >/dev/null && curl -sS "${URL[$t]}" -H 'content-type: application/json' \
      --data-binary "@$OUT/body-stream.json" | head -c 600 >&2
    echo >&2
    die "$t: a streamed request failed (response above; logs in bench/out)"
  }
done

# ---------------------------------------------------------------- the run
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RSS_IDLE_KB=$(status_kb "$SY_PID" VmHWM)
step "JSON 1 KB, concurrency 1"
wrk_scenario json1k_c1 "$OUT/body-1k.json" 1
step "JSON 100 KB, concurrency 1"
wrk_scenario json100k_c1 "$OUT/body-100k.json" 1
step "JSON 1 KB, concurrency 32"
wrk_scenario json_c32 "$OUT/body-1k.json" 32
step "streams, concurrency 32"
wrk_scenario stream_c32 "$OUT/body-stream.json" 32
step "streams, concurrency 1: time to first event ($STREAM_REQUESTS sequential requests)"
for t in "${TARGETS[@]}"; do
  # shellcheck disable=SC2046
  measure stream_c1 "$t" $(billed_pids "$t") -- "${LOAD[@]}" "$BIN/switchyard-bench-stream" \
    "${ADDR[$t]}" "$CHAT" "$OUT/body-stream.json" "$STREAM_REQUESTS" "$STREAM_WARMUP"
done
RSS_PEAK_KB=$(status_kb "$SY_PID" VmHWM)
SY_THREADS=$(status_kb "$SY_PID" Threads)
RSS_NOW_KB=$(status_kb "$SY_PID" VmRSS)
NGINX_RSS_PEAK_KB=0
for p in "${NGINX_PIDS[@]}"; do
  NGINX_RSS_PEAK_KB=$((NGINX_RSS_PEAK_KB + $(status_kb "$p" VmHWM)))
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
metric() { # NAME: a counter from Switchyard's /metrics, or n/a
  local v=""
  if command -v curl >/dev/null; then
    v=$(curl -s "http://127.0.0.1:$P_SY/metrics" | awk -v n="$1" '$1==n{print $2; exit}')
  fi
  echo "${v:-n/a}"
}
LEDGER_WRITTEN=$(metric switchyard_ledger_written_total)
LEDGER_DROPPED=$(metric switchyard_ledger_dropped_total)
DB_MB=$(du -cm "$OUT"/switchyard.db* 2>/dev/null | awk 'END{print $1}')

if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  step "perf profile of Switchyard during a JSON c=32 run"
  rm -f "$OUT"/perf.data*
  perf record -q -F 1999 -p "$SY_PID" -o "$OUT/perf.data" -- sleep "$DURATION" 2>/dev/null &
  PERF_PID=$!
  wrk_run switchyard "$OUT/body-1k.json" 32 "$DURATION" >/dev/null
  wait "$PERF_PID" || true
  perf report -i "$OUT/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 0.5 \
    >"$OUT/perf-switchyard.txt" 2>/dev/null || true
fi

# ---------------------------------------------------------------- report
us_per_req() { # SCENARIO TARGET [upstream|db|sys]
  calc "${R[$1.$2.${3:-cpu}_ticks]} * 1e6 / $CLK_TCK / ${R[$1.$2.requests]}"
}
added() { int "${R[$1.$2.$3]} - ${R[$1.direct.$3]}"; }
signed() { awk "BEGIN{printf \"%+.0f\", $*}"; }
mb() { calc "$1 / 1024"; }
verdict() { if holds "$1"; then echo PASS; else echo FAIL; fi; }
row3() { # LABEL SCENARIO KEY [with added]
  local d n s
  d=$(int "${R[$2.direct.$3]}")
  n=$(int "${R[$2.nginx.$3]}")
  s=$(int "${R[$2.switchyard.$3]}")
  if [ "${4:-}" = added ]; then
    echo "| $1 | $d | $n ($(signed "$n - $d")) | $s ($(signed "$s - $d")) |"
  else
    echo "| $1 | $d | $n | $s |"
  fi
}
BG_MEAN=$(printf '%s\n' "${BG_SAMPLES[@]}" | awk '{s+=$1} END{printf "%.0f", s/NR}')
BG_MAX=$(printf '%s\n' "${BG_SAMPLES[@]}" | sort -g | tail -1 | awk '{printf "%.0f", $1}')
CPU_MODEL=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
OS=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -s)
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git --no-optional-locks status --porcelain 2>/dev/null | head -1)
[ -z "$DIRTY" ] || REV="$REV + uncommitted changes"
ERRORS_SY=0
for s in json1k_c1 json100k_c1 json_c32 stream_c32; do
  ERRORS_SY=$((ERRORS_SY + R[$s.switchyard.errors]))
done
ERRORS_ALL=0
for s in json1k_c1 json100k_c1 json_c32 stream_c32; do
  for t in "${TARGETS[@]}"; do ERRORS_ALL=$((ERRORS_ALL + R[$s.$t.errors])); done
done

SY_JSON_CPU=$(us_per_req json_c32 switchyard)
SY_STREAM_CPU=$(us_per_req stream_c32 switchyard)
ADD_1K=$(added json1k_c1 switchyard p50_us)
ADD_100K=$(added json100k_c1 switchyard p50_us)
ADD_FE=$(added stream_c1 switchyard first_event_p50_us)
HALF_JSON=$(int "${R[json_c32.nginx.rps]} / 2")
HALF_STREAM=$(int "${R[stream_c32.nginx.rps]} / 2")
MAX_STREAM_MS=$(calc "${R[stream_c1.switchyard.total_max_us]} / 1000")

{
  cat <<EOF
# Switchyard benchmark results

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $NPROC CPUs, $CPU_MODEL; kernel $(uname -r); $OS
- Placement: $PIN_NOTE; nginx worker_processes $WORKERS; Switchyard ran $SY_THREADS threads
- Software: Switchyard $("$BIN/switchyard" --version | awk '{print $2}') ($REV; binary built $(date -u -r "$BIN/switchyard" '+%Y-%m-%d %H:%M UTC'), release profile), $("$NGINX" -v 2>&1 | sed 's#.*/##' | sed 's/^/nginx /'), $(wrk -v 2>&1 | head -1 | awk '{print "wrk " $2}')
- Each load scenario: ${WARMUP} s warm-up, then ${DURATION} s measured, wrk -t1 (one thread); targets measured one after another within each scenario
- Streams: $((EVENTS + 2)) chunks + a usage chunk + \`[DONE]\` per response; time to first event over $STREAM_REQUESTS sequential requests after $STREAM_WARMUP warm-up
- Load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER; other processes used on average ${BG_MEAN}% (max ${BG_MAX}%) of one CPU during the measured runs

## Figures

Latencies in µs (in parentheses: added over direct), requests/s, CPU time (user + system,
all threads) in µs per request. Switchyard's \`usage\` chunk is kept away from clients that did
not ask for it, so its streams carry one event fewer (${R[stream_c1.switchyard.events]} \`data:\` lines against ${R[stream_c1.direct.events]}).

| Measure | direct | nginx | Switchyard |
|---|---|---|---|
$(row3 "JSON 1 KB, c=1, p50" json1k_c1 p50_us added)
$(row3 "JSON 1 KB, c=1, p99" json1k_c1 p99_us added)
$(row3 "JSON 100 KB, c=1, p50" json100k_c1 p50_us added)
$(row3 "JSON 100 KB, c=1, p99" json100k_c1 p99_us added)
$(row3 "JSON 1 KB, c=32, requests/s" json_c32 rps)
$(row3 "JSON 1 KB, c=32, p99" json_c32 p99_us)
$(row3 "Stream, c=32, requests/s" stream_c32 rps)
$(row3 "Stream, c=32, p99 (whole stream)" stream_c32 p99_us)
$(row3 "Stream, c=1, first event p50" stream_c1 first_event_p50_us added)
$(row3 "Stream, c=1, first event p99" stream_c1 first_event_p99_us added)
$(row3 "Stream, c=1, whole stream p50" stream_c1 total_p50_us added)
$(row3 "Stream, c=1, whole stream max" stream_c1 total_max_us)
| CPU per request, JSON c=32 | — | $(us_per_req json_c32 nginx) | $SY_JSON_CPU |
| CPU per request, stream c=32 | — | $(us_per_req stream_c32 nginx) | $SY_STREAM_CPU |
| … of which in the kernel (system time), JSON c=32 | — | $(us_per_req json_c32 nginx sys) | $(us_per_req json_c32 switchyard sys) |
| … of which Switchyard's SQLite threads, JSON / stream c=32 | — | — | $(us_per_req json_c32 switchyard db) / $(us_per_req stream_c32 switchyard db) |
| write syscalls per streamed response (c=1; to client and upstream) | — | $(calc "${R[stream_c1.nginx.writes]} / ($STREAM_REQUESTS + $STREAM_WARMUP)") | $(calc "${R[stream_c1.switchyard.writes]} / ($STREAM_REQUESTS + $STREAM_WARMUP)") |
| CPU per request of the fake upstream, JSON c=32 | $(us_per_req json_c32 direct upstream) | $(us_per_req json_c32 nginx upstream) | $(us_per_req json_c32 switchyard upstream) |
| CPU per request of the fake upstream, stream c=32 | $(us_per_req stream_c32 direct upstream) | $(us_per_req stream_c32 nginx upstream) | $(us_per_req stream_c32 switchyard upstream) |
| Peak RSS (VmHWM) idle, MB | — | — | $(mb "$RSS_IDLE_KB") |
| Peak RSS (VmHWM) after load, MB | — | $(mb "$NGINX_RSS_PEAK_KB") (master + workers) | $(mb "$RSS_PEAK_KB") (now $(mb "$RSS_NOW_KB")) |
| Request-log rows written / dropped (queue full); database size | — | — | $LEDGER_WRITTEN / $LEDGER_DROPPED; ${DB_MB} MB |
| Errors (non-2xx, socket errors, timeouts) | $((R[json1k_c1.direct.errors] + R[json100k_c1.direct.errors] + R[json_c32.direct.errors] + R[stream_c32.direct.errors])) | $((R[json1k_c1.nginx.errors] + R[json100k_c1.nginx.errors] + R[json_c32.nginx.errors] + R[stream_c32.nginx.errors])) | $ERRORS_SY |

## Targets

| Target | Measured (Switchyard) | Result |
|---|---|---|
| CPU ≤ 30 µs per request (JSON, c=32) | $SY_JSON_CPU µs (nginx $(us_per_req json_c32 nginx) µs) | $(verdict "$SY_JSON_CPU <= 30") |
| requests/s at c=32 ≥ half of nginx's (JSON) | $(int "${R[json_c32.switchyard.rps]}") vs ≥ $HALF_JSON | $(verdict "${R[json_c32.switchyard.rps]} >= $HALF_JSON") |
| requests/s at c=32 ≥ half of nginx's (streams) | $(int "${R[stream_c32.switchyard.rps]}") vs ≥ $HALF_STREAM | $(verdict "${R[stream_c32.switchyard.rps]} >= $HALF_STREAM") |
| added p50 at c=1 ≤ 100 µs (JSON 1 KB) | $ADD_1K µs | $(verdict "$ADD_1K <= 100") |
| added p50 at c=1 ≤ 100 µs (JSON 100 KB) | $ADD_100K µs | $(verdict "$ADD_100K <= 100") |
| added p50 at c=1 ≤ 100 µs (stream, first event) | $ADD_FE µs | $(verdict "$ADD_FE <= 100") |
| no stream stalls (every c=1 stream complete in < 40 ms) | slowest $MAX_STREAM_MS ms | $(verdict "$MAX_STREAM_MS < 40") |
| RSS ≤ 20 MB idle | $(mb "$RSS_IDLE_KB") MB | $(verdict "$RSS_IDLE_KB <= 20 * 1024") |
| RSS ≤ 40 MB under load | $(mb "$RSS_PEAK_KB") MB | $(verdict "$RSS_PEAK_KB <= 40 * 1024") |
| no errors under load | $ERRORS_SY | $(verdict "$ERRORS_SY == 0") |
EOF
  if [ "$ERRORS_ALL" != 0 ]; then
    echo
    echo "Some runs had errors; see the lines marked BENCH in the log above for each run."
  fi
  if [ "$LEDGER_DROPPED" != n/a ] && [ "$LEDGER_DROPPED" != 0 ]; then
    echo
    echo "Switchyard dropped $LEDGER_DROPPED request-log/spend records because its ledger queue was full (\`switchyard_ledger_dropped_total\`)."
  fi
  if holds "$BG_MAX > 20"; then
    echo
    echo "**Noisy machine**: other processes used up to ${BG_MAX}% of a CPU during the measured runs; figures are less reliable than on an idle machine."
  fi
} >"$OUT/results.md"

cat "$OUT/results.md"
