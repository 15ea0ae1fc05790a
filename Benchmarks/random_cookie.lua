-- wrk: each request carries one of the session cookies in COOKIES_FILE (one "name=value" a
-- line), picked at random; METHOD (default POST) is the request's method.
local cookies = {}
local method = os.getenv("METHOD") or "POST"
init = function(args)
  for line in io.lines(os.getenv("COOKIES_FILE")) do cookies[#cookies + 1] = line end
  math.randomseed(os.time() + tonumber(tostring(cookies):sub(8), 16))
end
request = function()
  return wrk.format(method, nil, { Cookie = cookies[math.random(#cookies)] })
end
