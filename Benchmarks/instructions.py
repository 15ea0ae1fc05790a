#!/usr/bin/env python3
"""Instructions per request in user space, counted by callgrind: the bench's one figure that
does not move with the machine's load, so a change's cost or saving shows exactly.

Each responder runs under valgrind with one worker thread. A FastCGI client sends it what the
bench's nginx sends (its fastcgi_params, one connection per request); after a warm-up, the
count over N requests is divided by N. Kernel time is not in it.

usage: instructions.py BIN_DIR [N]
"""
import os, shutil, socket, struct, subprocess, sys, tempfile, time

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
WARM_UP = 200
HERE = os.path.dirname(os.path.abspath(__file__))


def parameters(method, uri, cookie):
    """What nginx sends for `include fastcgi_params; fastcgi_param SCRIPT_NAME ""; fastcgi_param
    PATH_INFO $uri;` (the C programs get SCRIPT_NAME and PATH_INFO too; they read neither)."""
    path, _, query = uri.partition("?")
    names = {"QUERY_STRING": query, "REQUEST_METHOD": method, "CONTENT_TYPE": "", "CONTENT_LENGTH": "",
             "SCRIPT_NAME": "", "REQUEST_URI": uri, "DOCUMENT_URI": path, "DOCUMENT_ROOT": "/usr/share/nginx/html",
             "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "http", "GATEWAY_INTERFACE": "CGI/1.1",
             "SERVER_SOFTWARE": "nginx/1.22.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000",
             "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_NAME": "localhost", "REDIRECT_STATUS": "200",
             "PATH_INFO": path, "HTTP_HOST": "127.0.0.1:8080", "HTTP_USER_AGENT": "wrk"}
    if cookie:
        names["HTTP_COOKIE"] = cookie
    return names


def request_bytes(names):
    def length(data):
        return bytes([len(data)]) if len(data) < 128 else struct.pack(">I", len(data) | 0x80000000)

    def record(kind, body):
        return struct.pack(">BBHHBx", 1, kind, 1, len(body), 0) + body

    pairs = b"".join(length(k.encode()) + length(v.encode()) + k.encode() + v.encode() for k, v in names.items())
    return record(1, struct.pack(">HB5x", 1, 0)) + record(4, pairs) + record(4, b"") + record(5, b"")


def send(path, message, count):
    """`count` requests, one connection each; the last response's stdout."""
    answer = b""
    for _ in range(count):
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(path)
            connection.sendall(message)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    return answer[8:]


def instructions(run, name, command, method, uri, cookie=""):
    sock = f"{run}/{name}.sock"
    server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={run}/{name}.out"] +
                              [part.replace("SOCKET", sock) for part in command],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        message = request_bytes(parameters(method, uri, cookie))
        answer = send(sock, message, WARM_UP)
        if b"Status: 200" not in answer:
            sys.exit(f"{name}: not a 200 answer: {answer[:200]!r}")
        subprocess.run(["callgrind_control", "-z", str(server.pid)], capture_output=True, check=True)
        send(sock, message, N)
        subprocess.run(["callgrind_control", "-d", str(server.pid)], capture_output=True, check=True)
    finally:
        server.kill()
        server.wait()
    dump = next(f"{run}/{file}" for file in os.listdir(run) if file.startswith(f"{name}.out."))
    summary = next(line for line in open(dump) if line.startswith("summary:"))
    return int(summary.split()[1]) // N


def main():
    run = tempfile.mkdtemp(prefix="obsession-instructions.")
    try:
        for program in ["bare_responder", "session_responder"]:
            subprocess.run(["gcc", "-O2", "-o", f"{run}/{program}", f"{HERE}/{program}.c", "-lfcgi", "-lpthread"], check=True)
        sessions = f"{run}/sessions"
        demo = [f"{BIN}/demo", "--listen", "unix:SOCKET", "--workers", "1", "--sessions", sessions,
                "--cookie-name", "sid", "--cookie-secure", "off"]
        # One session, made through the demo itself, for the requests on an existing session.
        maker = subprocess.Popen([part.replace("SOCKET", f"{run}/maker.sock") for part in demo], stderr=subprocess.DEVNULL)
        while not os.path.exists(f"{run}/maker.sock"):
            time.sleep(0.05)
        made = send(f"{run}/maker.sock", request_bytes(parameters("POST", "/incr?key=n", "")), 1).decode("latin-1")
        maker.terminate()
        maker.wait()
        cookie = next(line.split(": ", 1)[1].split(";")[0] for line in made.split("\r\n") if line.startswith("Set-Cookie: sid="))
        rows = [
            ("bare C responder, GET", [f"{run}/bare_responder", "SOCKET", "1"], "GET", "/", ""),
            ("C session responder, read", [f"{run}/session_responder", "SOCKET", "1", sessions], "GET", "/", cookie),
            ("C session responder, rewrite", [f"{run}/session_responder", "SOCKET", "1", sessions, "write"], "POST", "/", cookie),
            ("C session responder, create", [f"{run}/session_responder", "SOCKET", "1", sessions, "create"], "POST", "/", ""),
            ("hello, GET /", [f"{BIN}/hello", "--listen", "unix:SOCKET", "--workers", "1"], "GET", "/", ""),
            ("demo GET /session.json", demo, "GET", "/session.json", cookie),
            ("demo POST /incr, existing", demo, "POST", "/incr?key=n", cookie),
            ("demo POST /incr, new", demo, "POST", "/incr?key=n", ""),
        ]
        print(f"instructions per request in user space (callgrind, one worker, mean of {N} after {WARM_UP}):")
        for index, (label, command, method, uri, cookie_header) in enumerate(rows):
            print(f"  {label:30} {instructions(run, f'r{index}', command, method, uri, cookie_header):8,}")
    finally:
        shutil.rmtree(run, ignore_errors=True)


main()
