#!/bin/sh
# Starts the program under spawn-fcgi, which binds the Unix socket and hands it over as fd 0;
# stays in the foreground (-n) for a service manager. Paths can be set in the environment.
SOCKET=${SOCKET:-/run/obsession/app.sock}
PROGRAM=${PROGRAM:-/usr/local/bin/demo}
SESSIONS=${SESSIONS:-/var/lib/obsession/sessions}
SOCKET_MODE=${SOCKET_MODE:-0660}
exec spawn-fcgi -n -s "$SOCKET" -M "$SOCKET_MODE" -- "$PROGRAM" --workers 4 --sessions "$SESSIONS"
