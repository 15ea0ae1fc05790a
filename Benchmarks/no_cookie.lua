-- wrk: every request comes without a cookie, so the server makes a new session each time.
request = function() return wrk.format(os.getenv("METHOD") or "POST", nil, {}) end
