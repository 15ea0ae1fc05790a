#!/bin/sh
# The program as a classic CGI script: the web server runs it once per request, with the
# request in its environment and stdin. It must be able to create its session directory.
exec /usr/local/bin/demo --sessions /var/lib/obsession/sessions
