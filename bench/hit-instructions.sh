#!/usr/bin/env bash
# Instructions per request of one bench scenario, counted by callgrind (steady state: JIT
# warmed by WARM uninstrumented requests, then MEAS requests counted). Deterministic enough
# to compare two rows (or two commits) on a noisy machine, unlike req/s.
#   npm run build:sample && REDIS_URL=redis://127.0.0.1:6379 bench/hit-instructions.sh cache-llm-redis-l2
# Prints total Ir / MEAS, and the same without V8's compilers (JIT work left after warm-up).
# WITHOUT_OTEL_API=1: count the row as if `@opentelemetry/api` were not installed
# (bench/without-otel-api.cjs), to compare with the same row with the peer installed.
set -euo pipefail
name=$1
root=$(cd "$(dirname "$0")/.." && pwd)
: "${REDIS_URL:?set REDIS_URL}"
WARM=${WARM:-6000} MEAS=${MEAS:-3000}
tmp=$(mktemp -d)
preload=()
[ "${WITHOUT_OTEL_API:-}" = 1 ] && preload=(-r "$root/bench/without-otel-api.cjs")
BENCH_UNDER_CALLGRIND=1 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg.out" node "${preload[@]}" -e "
  const { scenarios } = require('$root/dist-sample/bench/scenarios');
  scenarios.find((s) => s.name === '$name').start({ redisUrl: '$REDIS_URL' })
    .then((t) => console.log('READY', t.url, JSON.stringify({ method: t.method ?? 'GET', body: t.body,
      headers: { 'content-type': 'application/json', ...t.headers } })));" >"$tmp/serve.log" 2>&1 &
vpid=$!
for _ in $(seq 1 300); do grep -q "^READY " "$tmp/serve.log" && break; sleep 1; done
url=$(grep "^READY " "$tmp/serve.log" | awk '{print $2}')
# The scenario's method, body and headers (a POST row's body, a session row's cookie).
request=$(grep "^READY " "$tmp/serve.log" | cut -d' ' -f3-)
drive() {
  # Under callgrind a request runs tens of times slower: a long timeout, so a loaded machine
  # slows the count down instead of failing it (the count does not depend on the time taken).
  node -e "require('$root/node_modules/autocannon')({ url: '$url', ...$request, amount: $1, connections: 10, timeout: 120 },
    (e, r) => { if (e || r.non2xx || r.errors) { console.error(e ?? 'non-2xx ' + r.non2xx + ', errors ' + r.errors + ' (timeouts ' + r.timeouts + ')'); process.exit(1); } });"
}
trap 'kill "$vpid" 2>/dev/null || true' EXIT
drive "$WARM"
callgrind_control -i on "$vpid" >/dev/null
drive "$MEAS"
callgrind_control -d "$vpid" >/dev/null
kill "$vpid"; wait "$vpid" 2>/dev/null || true
callgrind_annotate --threshold=100 "$tmp/cg.out.1" 2>/dev/null | awk -v n="$MEAS" -v s="$name" '
  /compiler::|Compile|Turbofan|Maglev|maglev|Parser|Scanner/ { gsub(",", "", $1); c += $1 }
  /PROGRAM TOTALS/ { gsub(",", "", $1); t = $1 }
  END { printf "%s: %.0f instructions per request (%.0f without the JIT compilers)\n", s, t / n, (t - c) / n }'
rm -rf "$tmp"
