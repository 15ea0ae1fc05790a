#!/usr/bin/env bash
# `make bench`: the bare C libfcgi responder and our programs behind one nginx, driven by wrk in
# one run, so that every figure is a ratio against the baseline measured beside it.
# usage: Benchmarks/run.sh BIN_DIR   (BENCH_SECONDS, CONNECTIONS, WORKERS, ROUNDS may be set)
set -euo pipefail
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
SECONDS_EACH=${BENCH_SECONDS:-5}; CONNECTIONS=${CONNECTIONS:-16}; WORKERS=${WORKERS:-2}; ROUNDS=${ROUNDS:-3}
RUN=$(mktemp -d /tmp/obsession-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT

mkdir -p "$HERE/bin"
gcc -O2 -o "$HERE/bin/bare_responder" "$HERE/bare_responder.c" -lfcgi -lpthread

"$HERE/bin/bare_responder" "$RUN/bare.sock" "$WORKERS" & pids+=($!)
"$BIN/hello" --listen "unix:$RUN/hello.sock" --socket-mode 666 --workers "$WORKERS" 2>"$RUN/hello.log" & pids+=($!)

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

# Requests per second of one wrk run against a path.
rate() { wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" "http://127.0.0.1:$PORT$1" | awk '/Requests\/sec/ {print $2}'; }

echo "wrk: $CONNECTIONS connections, $SECONDS_EACH s per run, $ROUNDS rounds alternating targets; $WORKERS worker threads each"
printf "%-28s %12s %12s %8s %8s\n" target "req/s" "bare req/s" ratio target
declare -A sum=([bare]=0 [hello]=0)
for round in $(seq "$ROUNDS"); do
  for target in bare hello; do
    r=$(rate "/$target")
    sum[$target]=$(python3 -c "print(${sum[$target]} + $r)")
  done
done
bare=$(python3 -c "print(round(${sum[bare]} / $ROUNDS))")
hello=$(python3 -c "print(round(${sum[hello]} / $ROUNDS))")
ratio=$(python3 -c "print(f'{$hello / $bare:.2f}')")
printf "%-28s %12s %12s %8s %8s\n" "hello (GET /)" "$hello" "$bare" "$ratio" ">=0.95"
