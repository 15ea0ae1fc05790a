#!/usr/bin/env bash
# `make bench`: the bare C libfcgi responder and our programs behind one nginx, driven by wrk in
# one run, so that every figure is a ratio against the baseline measured beside it.
# Two figures per target: requests/s, and the responder's CPU time per request (user + system,
# from /proc), which the other programs on a shared machine disturb far less.
# usage: Benchmarks/run.sh BIN_DIR   (BENCH_SECONDS, CONNECTIONS, WORKERS, ROUNDS may be set)
set -euo pipefail
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
SECONDS_EACH=${BENCH_SECONDS:-5}; CONNECTIONS=${CONNECTIONS:-16}; WORKERS=${WORKERS:-2}; ROUNDS=${ROUNDS:-3}
RUN=$(mktemp -d /tmp/obsession-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pids=()
# libfcgi's C responder ignores SIGTERM while blocked in accept: follow up with SIGKILL.
cleanup() { kill "${pids[@]}" 2>/dev/null || true; sleep 1; kill -9 "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT

mkdir -p "$HERE/bin"
gcc -O2 -o "$HERE/bin/bare_responder" "$HERE/bare_responder.c" -lfcgi -lpthread

declare -A pid
"$HERE/bin/bare_responder" "$RUN/bare.sock" "$WORKERS" & pids+=($!); pid[bare]=$!
"$BIN/hello" --listen "unix:$RUN/hello.sock" --socket-mode 666 --workers "$WORKERS" 2>"$RUN/hello.log" & pids+=($!); pid[hello]=$!

cat > "$RUN/nginx.conf" <<CONF
worker_processes 1;
daemon off;
user root root;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $RUN/body;
  fastcgi_temp_path $RUN/fastcgi;
  server {
    listen 127.0.0.1:$PORT;
    location /bare  { include /etc/nginx/fastcgi_params; fastcgi_pass unix:$RUN/bare.sock; }
    location /hello { include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_NAME ""; fastcgi_param PATH_INFO /; fastcgi_pass unix:$RUN/hello.sock; }
  }
}
CONF
nginx -c "$RUN/nginx.conf" -p "$RUN" & pids+=($!)
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/hello" && curl -sf -o /dev/null "http://127.0.0.1:$PORT/bare" && break; sleep 0.1; done

# CPU ticks (user + system) a process has used.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A requests cpu
for round in $(seq "$ROUNDS"); do
  for target in bare hello; do
    before=$(ticks "${pid[$target]}")
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" "http://127.0.0.1:$PORT/$target")
    after=$(ticks "${pid[$target]}")
    if echo "$out" | grep -qE "Non-2xx|Socket errors"; then echo "errors on $target: $out"; exit 1; fi
    requests[$target]=$(( ${requests[$target]:-0} + $(echo "$out" | awk '/requests in/ {print $1}') ))
    cpu[$target]=$(( ${cpu[$target]:-0} + after - before ))
  done
done

hz=$(getconf CLK_TCK)
echo "wrk: $CONNECTIONS connections, $ROUNDS rounds of $SECONDS_EACH s per target, alternating; $WORKERS worker threads each"
printf "%-16s %10s %10s %8s %14s %10s %8s\n" target "req/s" "bare" ratio "CPU µs/req" "bare" ratio
report() {
  python3 - "$1" "$2" "${requests[$1]}" "${cpu[$1]}" "${requests[bare]}" "${cpu[bare]}" "$ROUNDS" "$SECONDS_EACH" "$hz" <<'PY'
import sys
name, label, n, c, bn, bc, rounds, secs, hz = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
t = rounds * secs
rate, brate = n / t, bn / t
us, bus = c / hz / n * 1e6, bc / hz / bn * 1e6
print(f"{label:16} {rate:10.0f} {brate:10.0f} {rate / brate:8.2f} {us:14.1f} {bus:10.1f} {bus / us:8.2f}")
PY
}
report hello "hello GET /"
echo "ratio: ours / bare for req/s; bare / ours for CPU (higher is better in both). Target for hello: 0.95."
