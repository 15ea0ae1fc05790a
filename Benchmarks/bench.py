#!/usr/bin/env python3
"""`make bench`: our programs beside a bare C libfcgi responder, a minimal C file-session
responder and PHP-FPM, behind one nginx, driven by wrk in one run. Every figure is a ratio
against the bare responder measured in the same run: the machine is shared and noisy.

Two figures per target: requests/s, and the responder's own CPU time per request (user +
system, from /proc), which the other programs on the machine disturb far less.

Then the instructions each request costs in user space (Benchmarks/instructions.py, under
callgrind: the figure the machine's load does not move). The Redis store against the file store,
the bare responder and PHP-FPM with phpredis sessions on the same Redis. Then issue 4's figures: the FileBackend alone against the same loop in C, collecting 100,000
expired files, and /incr with 1,000 against SCALE (default 1,000,000) stored sessions.

usage: bench.py BIN_DIR   (environment: BENCH_SECONDS, CONNECTIONS, WORKERS, ROUNDS, SESSIONS,
                           SCALE; SCALE=0 skips the large store, which takes minutes to make)
"""
import http.client, os, random, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

BIN = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "16"))
WORKERS = int(os.environ.get("WORKERS", "2"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SESSIONS = int(os.environ.get("SESSIONS", "1000"))
SCALE = int(os.environ.get("SCALE", "1000000"))
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
HZ = os.sysconf("SC_CLK_TCK")

run = tempfile.mkdtemp(prefix="obsession-bench.")
os.chmod(run, 0o755)
children = []


def start(command, **kwargs):
    child = subprocess.Popen(command, **kwargs)
    children.append(child)
    return child


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total


def pool(pid):
    """A process and its children (PHP-FPM's workers)."""
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [int(kid) for kid in kids]


def make_sessions(port, path, cookie_name):
    """Makes SESSIONS sessions by requests without a cookie; returns their cookies."""
    cookies = []
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(SESSIONS):
        connection.request("POST", path)
        response = connection.getresponse()
        response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith(cookie_name + "="):
                cookies.append(value.split(";")[0])
    if len(cookies) != SESSIONS:
        sys.exit(f"made {len(cookies)} sessions at {path}, wanted {SESSIONS}")
    return cookies


def wrk(url, script, method, cookies_file=None):
    environment = dict(os.environ, METHOD=method)
    if cookies_file:
        environment["COOKIES_FILE"] = cookies_file
    output = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script, url],
                            capture_output=True, text=True, env=environment).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        sys.exit(f"errors from {url}:\n{output}")
    return int(next(line for line in output.splitlines() if "requests in" in line).split()[0])


def main():
    for program in ["bare_responder", "session_responder"]:
        subprocess.run(["gcc", "-O2", "-o", f"{run}/{program}", f"{HERE}/{program}.c", "-lfcgi", "-lpthread"], check=True)
    os.makedirs(f"{run}/sessions", mode=0o700)
    os.makedirs(f"{run}/php-sessions", mode=0o733)
    bare = start([f"{run}/bare_responder", f"{run}/bare.sock", str(WORKERS)])
    # The bare responder again, ending connections as ours do; and the C session responders too,
    # so that they and ours differ only in the session work.
    bare_now = start([f"{run}/bare_responder", f"{run}/bare-now.sock", str(WORKERS), "close-at-once"])
    c_read = start([f"{run}/session_responder", f"{run}/c-read.sock", str(WORKERS), f"{run}/sessions", "close-at-once"])
    c_write = start([f"{run}/session_responder", f"{run}/c-write.sock", str(WORKERS), f"{run}/sessions", "write",
                     "close-at-once"])
    c_new = start([f"{run}/session_responder", f"{run}/c-new.sock", str(WORKERS), f"{run}/sessions", "create",
                   "close-at-once"])
    hello = start([f"{BIN}/hello", "--listen", f"unix:{run}/hello.sock", "--socket-mode", "666", "--workers", str(WORKERS)],
                  stderr=subprocess.DEVNULL)
    demo = start([f"{BIN}/demo", "--listen", f"unix:{run}/demo.sock", "--socket-mode", "666", "--workers", str(WORKERS),
                  "--sessions", f"{run}/sessions", "--cookie-name", "sid", "--cookie-secure", "off"], stderr=subprocess.DEVNULL)
    synced = start([f"{BIN}/demo", "--listen", f"unix:{run}/synced.sock", "--socket-mode", "666", "--workers", str(WORKERS),
                    "--sessions", f"{run}/synced-sessions", "--cookie-name", "sid", "--cookie-secure", "off",
                    "--durability", "fsync"], stderr=subprocess.DEVNULL)
    # The demo on PHP's own session files, those the PHP-FPM counter uses (Debian's php.ini ids).
    php_files = start([f"{BIN}/demo", "--listen", f"unix:{run}/php-files.sock", "--socket-mode", "666", "--workers",
                       str(WORKERS), "--php-sessions", f"{run}/php-sessions", "--php-sid-length", "26", "--php-sid-bits", "5",
                       "--cookie-name", "sid", "--cookie-secure", "off"], stderr=subprocess.DEVNULL)
    # One Redis for the Redis targets, ours and PHP's: on a Unix socket and on TCP.
    redis_port = free_port()
    redis = start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--unixsocket", f"{run}/redis-server.sock",
                   "--unixsocketperm", "777", "--save", "", "--appendonly", "no", "--dir", run], stdout=subprocess.DEVNULL)
    redis_demo = {}
    for name, url in [("redis", f"unix://{run}/redis-server.sock"), ("redis-tcp", f"redis://127.0.0.1:{redis_port}/0")]:
        redis_demo[name] = start([f"{BIN}/demo", "--listen", f"unix:{run}/{name}.sock", "--socket-mode", "666", "--workers",
                                  str(WORKERS), "--redis", url, "--cookie-name", "sid", "--cookie-secure", "off"],
                                 stderr=subprocess.DEVNULL)
    with open(f"{run}/php-redis-fpm.conf", "w") as conf:
        conf.write(f"""[global]
pid = {run}/php-redis-fpm.pid
error_log = {run}/php-redis-fpm.log
daemonize = no
[bench-redis]
user = root
listen = {run}/php-redis.sock
listen.mode = 0666
pm = static
pm.max_children = {WORKERS}
php_admin_value[session.save_handler] = redis
php_admin_value[session.save_path] = "unix://{run}/redis-server.sock"
php_admin_value[session.name] = sid
php_admin_value[session.gc_probability] = 0
php_admin_value[opcache.enable] = 1
""")
    php_redis = start(["php-fpm8.2", "-y", f"{run}/php-redis-fpm.conf", "-R"])
    with open(f"{run}/php-fpm.conf", "w") as conf:
        conf.write(f"""[global]
pid = {run}/php-fpm.pid
error_log = {run}/php-fpm.log
daemonize = no
[bench]
user = root
listen = {run}/php.sock
listen.mode = 0666
pm = static
pm.max_children = {WORKERS}
php_admin_value[session.save_path] = {run}/php-sessions
php_admin_value[session.name] = sid
php_admin_value[session.gc_probability] = 0
php_admin_value[opcache.enable] = 1
""")
    php = start(["php-fpm8.2", "-y", f"{run}/php-fpm.conf", "-R"])
    port = free_port()
    app = 'include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_NAME ""; fastcgi_param PATH_INFO $uri;'
    with open(f"{run}/nginx.conf", "w") as conf:
        conf.write(f"""worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {run}/body;
  fastcgi_temp_path {run}/fastcgi;
  upstream kept_right {{ server unix:{run}/kept.sock; keepalive {WORKERS}; }}
  upstream kept_wrong {{ server unix:{run}/kept.sock; keepalive {4 * WORKERS}; }}
  server {{
    listen 127.0.0.1:{port};
    location = /kept-off {{ rewrite ^ / break; {app} fastcgi_pass unix:{run}/kept.sock; }}
    location = /kept-right {{ rewrite ^ / break; {app} fastcgi_keep_conn on; fastcgi_pass kept_right; }}
    location = /kept-wrong {{ rewrite ^ / break; {app} fastcgi_keep_conn on; fastcgi_pass kept_wrong; }}
    location = /bare {{ include /etc/nginx/fastcgi_params; fastcgi_pass unix:{run}/bare.sock; }}
    location = /bare-now {{ include /etc/nginx/fastcgi_params; fastcgi_pass unix:{run}/bare-now.sock; }}
    location = /c-read {{ include /etc/nginx/fastcgi_params; fastcgi_pass unix:{run}/c-read.sock; }}
    location = /c-write {{ include /etc/nginx/fastcgi_params; fastcgi_pass unix:{run}/c-write.sock; }}
    location = /c-new {{ include /etc/nginx/fastcgi_params; fastcgi_pass unix:{run}/c-new.sock; }}
    location = /hello {{ rewrite ^ / break; {app} fastcgi_pass unix:{run}/hello.sock; }}
    location /demo/ {{ rewrite ^/demo(/.*)$ $1 break; {app} fastcgi_pass unix:{run}/demo.sock; }}
    location /scale-small/ {{ rewrite ^/scale-small(/.*)$ $1 break; {app} fastcgi_pass unix:{run}/scale-small.sock; }}
    location /scale-large/ {{ rewrite ^/scale-large(/.*)$ $1 break; {app} fastcgi_pass unix:{run}/scale-large.sock; }}
    location /synced/ {{ rewrite ^/synced(/.*)$ $1 break; {app} fastcgi_pass unix:{run}/synced.sock; }}
    location = /php {{ include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_FILENAME {HERE}/counter.php; fastcgi_pass unix:{run}/php.sock; }}
    location = /php-redis {{ include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_FILENAME {HERE}/counter.php; fastcgi_pass unix:{run}/php-redis.sock; }}
    location /php-files/ {{ rewrite ^/php-files(/.*)$ $1 break; {app} fastcgi_pass unix:{run}/php-files.sock; }}
    location /redis/ {{ rewrite ^/redis(/.*)$ $1 break; {app} fastcgi_pass unix:{run}/redis.sock; }}
    location /redis-tcp/ {{ rewrite ^/redis-tcp(/.*)$ $1 break; {app} fastcgi_pass unix:{run}/redis-tcp.sock; }}
  }}
}}
""")
    start(["nginx", "-c", f"{run}/nginx.conf", "-p", run])
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            for path in ["/bare", "/hello", "/demo/session.json", "/php", "/redis/session.json", "/redis-tcp/session.json",
                         "/php-redis"]:
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.request("GET", path)
                assert connection.getresponse().status == 200
            break
        except (OSError, AssertionError):
            time.sleep(0.1)
    for name, path in [("demo", "/demo/incr?key=n"), ("synced", "/synced/incr?key=n"), ("php", "/php"),
                       ("redis", "/redis/incr?key=n"), ("redis-tcp", "/redis-tcp/incr?key=n"), ("php-redis", "/php-redis")]:
        with open(f"{run}/{name}-cookies", "w") as cookies:
            cookies.write("\n".join(make_sessions(port, path, "sid")) + "\n")
    random_cookie, no_cookie = f"{HERE}/random_cookie.lua", f"{HERE}/no_cookie.lua"
    targets = [
        ("bare", "bare C responder, GET", base + "/bare", no_cookie, "GET", None, lambda: [bare.pid]),
        ("bare-now", "  the same, closing at once", base + "/bare-now", no_cookie, "GET", None, lambda: [bare_now.pid]),
        ("hello", "hello, GET /", base + "/hello", no_cookie, "GET", None, lambda: [hello.pid]),
        ("incr", "demo POST /incr, existing", base + "/demo/incr?key=n", random_cookie, "POST", f"{run}/demo-cookies", lambda: [demo.pid]),
        ("c-write", "  C, same file, rewritten", base + "/c-write", random_cookie, "POST", f"{run}/demo-cookies", lambda: [c_write.pid]),
        ("read", "demo GET /session.json", base + "/demo/session.json", random_cookie, "GET", f"{run}/demo-cookies", lambda: [demo.pid]),
        ("c-read", "  C, same file, read", base + "/c-read", random_cookie, "GET", f"{run}/demo-cookies", lambda: [c_read.pid]),
        ("new", "demo POST /incr, new", base + "/demo/incr?key=n", no_cookie, "POST", None, lambda: [demo.pid]),
        ("c-new", "  C, new file, created", base + "/c-new", no_cookie, "POST", None, lambda: [c_new.pid]),
        ("synced", "demo /incr, existing, fsync", base + "/synced/incr?key=n", random_cookie, "POST", f"{run}/synced-cookies",
         lambda: [synced.pid]),
        ("php", "PHP-FPM counter, existing", base + "/php", random_cookie, "POST", f"{run}/php-cookies", lambda: pool(php.pid)),
        ("php-new", "PHP-FPM counter, new", base + "/php", no_cookie, "POST", None, lambda: pool(php.pid)),
        ("php-files", "  demo /incr on PHP's files", base + "/php-files/incr?key=n", random_cookie, "POST", f"{run}/php-cookies",
         lambda: [php_files.pid]),
        # Redis: the CPU column counts redis-server's time too.
        ("redis-incr", "Redis: demo /incr, existing", base + "/redis/incr?key=n", random_cookie, "POST", f"{run}/redis-cookies",
         lambda: [redis_demo["redis"].pid, redis.pid]),
        ("redis-read", "  demo /session.json", base + "/redis/session.json", random_cookie, "GET", f"{run}/redis-cookies",
         lambda: [redis_demo["redis"].pid, redis.pid]),
        ("redis-new", "  demo /incr, new", base + "/redis/incr?key=n", no_cookie, "POST", None,
         lambda: [redis_demo["redis"].pid, redis.pid]),
        ("redis-tcp-incr", "  demo /incr, existing, TCP", base + "/redis-tcp/incr?key=n", random_cookie, "POST",
         f"{run}/redis-tcp-cookies", lambda: [redis_demo["redis-tcp"].pid, redis.pid]),
        ("redis-tcp-read", "  demo /session.json, TCP", base + "/redis-tcp/session.json", random_cookie, "GET",
         f"{run}/redis-tcp-cookies", lambda: [redis_demo["redis-tcp"].pid, redis.pid]),
        ("php-redis", "  PHP-FPM phpredis counter", base + "/php-redis", random_cookie, "POST", f"{run}/php-redis-cookies",
         lambda: pool(php_redis.pid) + [redis.pid]),
        ("php-redis-new", "  PHP-FPM phpredis, new", base + "/php-redis", no_cookie, "POST", None,
         lambda: pool(php_redis.pid) + [redis.pid]),
    ]
    requests = {name: 0 for name, *_ in targets}
    ticks = {name: 0 for name, *_ in targets}
    for _ in range(ROUNDS):
        for name, _, url, script, method, cookies, pids in targets:
            before = cpu_ticks(pids())
            requests[name] += wrk(url, script, method, cookies)
            ticks[name] += cpu_ticks(pids()) - before
    elapsed = ROUNDS * SECONDS
    rate = {name: requests[name] / elapsed for name in requests}
    cpu = {name: ticks[name] / HZ / requests[name] * 1e6 for name in requests}
    targets_of = {"hello": ">= 0.95", "incr": ">= 0.80", "read": ">= 0.90", "new": ">= 0.60"}
    print(f"wrk: {CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS} s per target, alternating; "
          f"{WORKERS} workers each; {SESSIONS} existing sessions picked at random")
    # Ours and the C session responders close at once (FastCGIWorker.webServerIsDone); the
    # second ratio sets them against the bare responder that closes the same way.
    closing_at_once = {"bare-now", "hello", "incr", "c-write", "read", "c-read", "new", "c-new", "synced", "php-files", "redis-incr",
                       "redis-read", "redis-new", "redis-tcp-incr", "redis-tcp-read"}
    print(f"{'target':28} {'req/s':>8} {'/ bare':>7} {'/ bare,':>8} {'CPU µs/req':>11} {'bare/ours':>9}  target")
    print(f"{'':28} {'':>8} {'':>7} {'same close':>8}")
    for name, label, *_ in targets:
        same_close = f"{rate[name] / rate['bare-now']:8.2f}" if name in closing_at_once else f"{'':8}"
        print(f"{label:28} {rate[name]:8.0f} {rate[name] / rate['bare']:7.2f} {same_close} {cpu[name]:11.1f} "
              f"{cpu['bare'] / cpu[name]:9.2f}  {targets_of.get(name, '')}")
    print("  (C, same file: Benchmarks/session_responder.c opens, reads and, for /incr, rewrites the same session file in\n"
          "   place under flock, and does nothing else; C, new file: it creates a session file as a request without a\n"
          "   cookie does, in the same directory: what the targets leave room for on this machine.\n"
          "   Closing at once: Benchmarks/close_at_once.h, what our worker does; the targets are against the bare\n"
          "   responder as libfcgi closes, the second ratio against the one that closes as we do.)")
    print(f"demo against that C: /incr {rate['incr'] / rate['c-write']:.2f}, /session.json {rate['read'] / rate['c-read']:.2f}, "
          f"new {rate['new'] / rate['c-new']:.2f}")
    print(f"demo /incr against PHP-FPM's counter: {rate['incr'] / rate['php']:.2f} x (target >= 2.5)")
    print(f"demo /incr on PHP's own session files, the same sessions as PHP-FPM's counter: {rate['php-files'] / rate['php']:.2f} x "
          f"(target >= 3)")
    print(f"Redis (Unix socket): /incr {rate['redis-incr'] / rate['php-redis']:.2f} x PHP-FPM with phpredis (target >= 3), "
          f"{rate['redis-incr'] / rate['bare']:.2f} of the bare responder (target >= 0.6), {rate['redis-incr'] / rate['incr']:.2f} "
          f"of the file store; /session.json {rate['redis-read'] / rate['bare']:.2f} of bare, {rate['redis-read'] / rate['read']:.2f} "
          f"of files; new {rate['redis-new'] / rate['php-redis-new']:.2f} x PHP's new")
    print(f"Redis over TCP: /incr {rate['redis-tcp-incr'] / rate['php-redis']:.2f} x PHP-FPM with phpredis, "
          f"{rate['redis-tcp-incr'] / rate['bare']:.2f} of bare; /session.json {rate['redis-tcp-read'] / rate['bare']:.2f} of bare")
    print(subprocess.run([sys.executable, f"{HERE}/instructions.py", BIN], capture_output=True, text=True, check=True).stdout, end="")
    print(classic_cgi(cookies_file=f"{run}/demo-cookies"))
    print(scripts())
    print(backend_loop())
    print(garbage_collection())
    print(keep_alive(port))
    if SCALE:
        print(scale(port))
    check = subprocess.run(["curl", "-s", "-X", "POST", "-H", "Cookie: " + open(f"{run}/demo-cookies").readline().strip(),
                            base + "/demo/incr?key=n"], capture_output=True, text=True).stdout.strip()
    print(f"probe: one demo session's counter after the run: {check}")


def scripts(runs=300):
    """A single-file script through Apache's CGI (mod_cgid), run by `obsession script` from its
    cache, against the same file built ahead of time by `obsession build`, requests alternating;
    and the first request's compile, from an empty cache."""
    install = os.environ["OBSESSION_INSTALL_DIR"]
    site = f"{run}/scripts"
    os.makedirs(site)
    os.chmod(run, 0o755)
    os.chmod(site, 0o755)
    shutil.copy(f"{HERE}/../Examples/scripts/counter.swift", f"{site}/counter.swift")
    # The same script naming the launcher in its first line, which spares the start of env.
    source = open(f"{site}/counter.swift").read().split("\n", 1)[1]
    with open(f"{site}/direct.swift", "w") as direct:
        direct.write(f"#!{install}/bin/obsession script\n{source}")
    os.chmod(f"{site}/direct.swift", 0o755)
    cache = f"{run}/script-cache"
    os.makedirs(cache, mode=0o700)
    subprocess.run(["chown", "daemon:daemon", cache], check=True)
    build = subprocess.run([f"{install}/bin/obsession", "build", f"{site}/counter.swift", "-o", f"{site}/counter.cgi"],
                           capture_output=True, text=True, env=dict(os.environ, OBSESSION_CACHE=f"{run}/build-cache"))
    if build.returncode != 0:
        sys.exit(f"obsession build failed: {build.stderr}")
    os.chmod(f"{site}/counter.cgi", 0o755)
    port = free_port()
    with open(f"{run}/httpd.conf", "w") as conf:
        conf.write(f"""ServerRoot {run}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {run}/httpd.pid
ErrorLog {run}/httpd-error.log
LogLevel warn
User daemon
Group daemon
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
LoadModule env_module /usr/lib/apache2/modules/mod_env.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
ScriptSock {run}/cgid.sock
TypesConfig /etc/mime.types
SetEnv OBSESSION_CACHE {cache}
Alias "/scripts/" "{site}/"
<Directory "{site}">
    Options +ExecCGI
    AddHandler cgi-script .swift .cgi
    Require all granted
</Directory>
""")
    start(["/usr/sbin/apache2", "-f", f"{run}/httpd.conf", "-DFOREGROUND"],
          env=dict(os.environ, PATH=f"{install}/bin:/usr/bin:/bin"))

    def fetch(path):
        began = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"{path}: {response.status}")
        return time.perf_counter() - began

    for _ in range(100):
        try:
            fetch("/scripts/counter.cgi")
            break
        except OSError:
            time.sleep(0.1)
    cold = fetch("/scripts/counter.swift")
    fetch("/scripts/direct.swift")
    script, direct, built = [], [], []
    for _ in range(runs):
        script.append(fetch("/scripts/counter.swift"))
        direct.append(fetch("/scripts/direct.swift"))
        built.append(fetch("/scripts/counter.cgi"))
    warm, named, ahead = (statistics.median(times) * 1000 for times in (script, direct, built))
    return (f"a script through Apache's CGI, median of {runs} requests each, alternating: the same counter built ahead\n"
            f"  of time {ahead:.2f} ms; run by `#!/usr/bin/env -S obsession script` {warm:.2f} ms, {warm - ahead:+.2f} ms "
            f"(target under 1 ms);\n  by `#!{{PREFIX}}/bin/obsession script` {named:.2f} ms, {named - ahead:+.2f} ms;\n"
            f"  the first request, compiling it: {cold:.2f} s")


def classic_cgi(cookies_file, runs=200):
    """Median wall time of one request per process start, as a web server runs a CGI program."""
    cookie = open(cookies_file).readline().strip()
    base_environment = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    cases = [
        ("hello, GET /", f"{BIN}/hello", dict(base_environment, REQUEST_METHOD="GET", PATH_INFO="/")),
        ("demo POST /incr, existing session", f"{BIN}/demo",
         dict(base_environment, REQUEST_METHOD="POST", PATH_INFO="/incr", QUERY_STRING="key=n", CONTENT_LENGTH="0",
              HTTP_COOKIE=cookie)),
    ]
    needed = subprocess.run(["ldd", f"{BIN}/demo"], capture_output=True, text=True).stdout
    shared = [name for name in ["libswiftCore", "libstdc++", "libgcc_s"] if name in needed]
    linked = "shared: " + ", ".join(shared) if shared else "Swift runtime, libstdc++ and libgcc linked in"
    lines = [f"classic CGI, one request per process, median of {runs} runs each, alternating ({linked}):"]
    times = {label: [] for label, _, _ in cases}
    # One start of each program in turn, so that a noisy moment of the machine falls on both.
    for _ in range(runs):
        for label, program, environment in cases:
            arguments = [program] + (["--sessions", f"{run}/sessions", "--cookie-name", "sid"] if program.endswith("demo") else [])
            started = time.perf_counter()
            result = subprocess.run(arguments, env=environment, stdin=subprocess.DEVNULL, capture_output=True)
            times[label].append(time.perf_counter() - started)
            if not result.stdout.startswith(b"Status: 200"):
                sys.exit(f"{label}: {result.stdout[:200]!r} {result.stderr[:200]!r}")
    for label, _, _ in cases:
        lines.append(f"  {label:36} {statistics.median(times[label]) * 1000:6.2f} ms" + ("   (target <= 4 ms)" if "demo" in label else ""))
    return "\n".join(lines)


def record(data, created):
    """A session file's bytes (Sources/Obsession/SessionRecord.swift): header, FNV-1a 64, data."""
    header = len(data).to_bytes(4, "little") + created.to_bytes(8, "little", signed=True)
    value = 0xCBF29CE484222325
    for byte in header + data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return b"OBS1" + header + value.to_bytes(8, "little") + data


def make_store(directory, count, fan_out, mtime=None):
    """Writes `count` session files; returns their ids."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ids, now = [], int(time.time())
    body = record(b'{"n":0}', now)
    for _ in range(count):
        sid = "".join(random.choice(ALPHABET) for _ in range(40))
        folder = directory
        for character in sid[:fan_out]:
            folder += "/" + ("_" if character == "." else character)
        if fan_out:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        path = f"{folder}/s_{sid}"
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as file:
            file.write(body)
        if mtime:
            os.utime(path, (mtime, mtime))
        ids.append(sid)
    return ids


def backend_loop():
    """FileBackend alone (load + save as a request does) against the same loop in C."""
    subprocess.run(["gcc", "-O2", "-o", f"{run}/backend_loop", f"{HERE}/backend_loop.c"], check=True)
    ours, theirs = [], []
    for index in range(ROUNDS):
        ours.append(int(subprocess.run([f"{BIN}/backend-loop", f"{run}/loop-swift-{index}", str(SECONDS)],
                                       capture_output=True, text=True, check=True).stdout))
        theirs.append(int(subprocess.run([f"{run}/backend_loop", f"{run}/loop-c-{index}", str(SECONDS)],
                                         capture_output=True, text=True, check=True).stdout))
    return (f"backend alone, load + save of 1 of 1,000 sessions: FileBackend {statistics.median(ours):,.0f}/s, "
            f"C in place under flock {statistics.median(theirs):,.0f}/s: {statistics.median(ours) / statistics.median(theirs):.2f} "
            f"(target >= 0.80)")


def garbage_collection(count=100_000):
    """`obsession gc` on a directory of `count` expired sessions, beside `rm -rf` of as many: the
    file system's own floor for removing that many files. Twice: on a fresh ext4 mounted as
    Debian mounts one (from a loop image; root only), and on the disk holding the bench's files,
    whatever its mount options (online `discard` makes every freed block cost a device command)."""
    lines = [f"garbage collection of {count:,} expired files (target < 2 s), beside rm -rf of as many:"]
    image, mounted = f"{run}/ext4.img", f"{run}/ext4"
    os.makedirs(mounted)
    made = subprocess.run(f"truncate -s 4G {image} && mkfs.ext4 -q -N 400000 {image} && mount -o loop {image} {mounted}",
                          shell=True, capture_output=True, text=True)
    if made.returncode == 0:
        try:
            lines.append("  a fresh ext4, default mount options: " + collect_beside_rm(mounted, count))
        finally:
            subprocess.run(["umount", mounted])
    else:
        lines.append(f"  fresh ext4: cannot mount a loop image (needs root): {made.stderr.strip()}")
    options = subprocess.run(["findmnt", "-no", "FSTYPE,OPTIONS", "-T", run], capture_output=True, text=True).stdout.split()
    lines.append(f"  this machine's disk, {' '.join(options)}:\n    " + collect_beside_rm(run, count))
    return "\n".join(lines)


def collect_beside_rm(directory, count):
    """Times `obsession gc` and `rm -rf` on `count` files each, as two halves in turn (gc first,
    then rm first): whichever runs first after the stores are made pays more on a busy disk."""
    gc, rm, outputs, left = 0.0, 0.0, [], 0
    for half in range(2):
        make_store(f"{directory}/expired", count // 2, 0, mtime=int(time.time()) - 86400)
        make_store(f"{directory}/doomed", count // 2, 0)
        for tool in (["gc", "rm"] if half == 0 else ["rm", "gc"]):
            subprocess.run(["sync"])
            started = time.perf_counter()
            if tool == "gc":
                outputs.append(subprocess.run([f"{BIN}/obsession", "gc", "--sessions", f"{directory}/expired"],
                                              capture_output=True, text=True, check=True).stdout.strip())
                gc += time.perf_counter() - started
                left += len(os.listdir(f"{directory}/expired"))
                os.rmdir(f"{directory}/expired")
            else:
                subprocess.run(["rm", "-rf", f"{directory}/doomed"], check=True)
                rm += time.perf_counter() - started
    return f"gc {gc:.2f} s ({'; '.join(outputs)}; {left} left), rm -rf {rm:.2f} s"


def keep_alive(port):
    """nginx and FastCGI keep-alive against a program with WORKERS threads: off (the default),
    idle kept connections up to WORKERS, then four times as many (each holds a thread while
    idle). A fresh program for each."""
    lines = [f"fastcgi_keep_conn on, {WORKERS} worker threads, {CONNECTIONS} clients, {SECONDS} s:"]
    for name, keepalive in [("off", 0), ("right", WORKERS), ("wrong", 4 * WORKERS)]:
        server = subprocess.Popen([f"{BIN}/hello", "--listen", f"unix:{run}/kept.sock", "--socket-mode", "666", "--workers",
                                   str(WORKERS)], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        output = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "--timeout", "5s",
                                 f"http://127.0.0.1:{port}/kept-{name}"], capture_output=True, text=True).stdout
        rate = next((line.split()[1] for line in output.splitlines() if line.startswith("Requests/sec")), "0")
        p99 = next((line.split()[1] for line in output.splitlines() if line.strip().startswith("99%")), "-")
        errors = " ".join(line.strip() for line in output.splitlines() if "Non-2xx" in line or "Socket errors" in line)
        lines.append(f"  keepalive {keepalive:2}: {float(rate):8.0f} req/s, p99 {p99} {errors}")
        server.terminate()
        server.wait()
    return "\n".join(lines)


def scale(port):
    """/incr on existing sessions with 1,000 stored and with SCALE stored, fan-out 2: one server
    on each store, their rounds alternating so that a slow spell of the machine falls on both."""
    servers, requests = {}, {}
    for name, count in [("small", 1000), ("large", SCALE)]:
        directory = f"{run}/scale-{name}"
        ids = make_store(directory, count, 2)
        with open(f"{run}/scale-{name}-cookies", "w") as cookies:
            cookies.write("\n".join(f"sid={sid}" for sid in ids[:SESSIONS]) + "\n")
        servers[name] = subprocess.Popen([f"{BIN}/demo", "--listen", f"unix:{run}/scale-{name}.sock", "--socket-mode", "666",
                                          "--workers", str(WORKERS), "--sessions", directory, "--cookie-name", "sid",
                                          "--fan-out", "2"], stderr=subprocess.DEVNULL)
        requests[name] = 0
    # The stores' files reach the disk before the measurement, not during it: writing back a
    # million new files would compete with the requests measured.
    subprocess.run(["sync"])
    for _ in range(ROUNDS):
        for name in servers:
            requests[name] += wrk(f"http://127.0.0.1:{port}/scale-{name}/incr?key=n", f"{HERE}/random_cookie.lua", "POST",
                                  f"{run}/scale-{name}-cookies")
    for server in servers.values():
        server.terminate()
        server.wait()
    small, large = (requests[name] / (ROUNDS * SECONDS) for name in ["small", "large"])
    return (f"demo /incr, fan-out 2: {small:,.0f} req/s with 1,000 stored sessions, {large:,.0f} with {SCALE:,}, "
            f"alternating: {large / small:.2f} (target within 20 %)")


class Tee:
    """Standard output, kept as well: the run's report for Benchmarks/RESULTS.md."""

    def __init__(self, stream):
        self.stream, self.kept = stream, []

    def write(self, text):
        self.kept.append(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


def write_results(report):
    """Puts this run's report at the top of Benchmarks/RESULTS.md, the runs before it below."""
    path = f"{HERE}/RESULTS.md"
    title = "# Benchmark results\n\nWritten by `make bench`, newest run first. Compare ratios within a run, never absolute figures\nacross runs: the machine is shared and noisy.\n"
    earlier = ""
    if os.path.exists(path):
        text = open(path).read()
        earlier = text[text.find("\n## "):] if "\n## " in text else ""
    commit = subprocess.run(["git", "-C", HERE, "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = f"{os.cpu_count()} cores, {os.uname().release}"
    section = f"\n## {when}, at {commit}\n\n{machine}\n\n```\n{report.rstrip()}\n```\n"
    open(path, "w").write(title + section + earlier)


tee = Tee(sys.stdout)
sys.stdout = tee
try:
    main()
    sys.stdout = tee.stream
    write_results("".join(tee.kept))
finally:
    for child in children:
        child.send_signal(signal.SIGTERM)
    time.sleep(1)
    for child in children:
        child.kill()
    shutil.rmtree(run, ignore_errors=True)
