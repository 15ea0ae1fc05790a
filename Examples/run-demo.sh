#!/usr/bin/env bash
# `make demo`: serves an example program behind nginx on 127.0.0.1:PORT until Ctrl-C.
# usage: Examples/run-demo.sh PROGRAM PORT [program flags…]
set -euo pipefail
PROGRAM=$1; PORT=$2; shift 2
RUN=$(mktemp -d /tmp/obsession-demo.XXXXXX)
# nginx workers run as an unprivileged user when nginx starts as root: let them reach the socket.
chmod 755 "$RUN"
pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap stop INT TERM EXIT

"$PROGRAM" --listen "unix:$RUN/app.sock" --socket-mode 666 --workers 4 "$@" & pids+=($!)
cat > "$RUN/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $RUN/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $RUN/body;
  fastcgi_temp_path $RUN/fastcgi;
  server {
    listen 127.0.0.1:$PORT;
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_NAME "";
      fastcgi_param PATH_INFO \$uri;
      fastcgi_pass unix:$RUN/app.sock;
    }
  }
}
CONF
for _ in $(seq 50); do [ -S "$RUN/app.sock" ] && break; sleep 0.1; done
nginx -c "$RUN/nginx.conf" -p "$RUN" & pids+=($!)
echo "serving $(basename "$PROGRAM") at http://127.0.0.1:$PORT/  (Ctrl-C stops it)"
wait
