-- wrk script: POST one checklist tick, alternating passed and n/a, as htmx does.
local states = {"passed", "n/a"}
local n = 0
request = function()
  n = n + 1
  local body = "state=" .. states[(n % 2) + 1]
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["HX-Request"] = "true",
    ["HX-Target"] = os.getenv("TICK_TARGET"),
    ["X-CSRFToken"] = os.getenv("TICK_CSRF"),
    ["Cookie"] = os.getenv("TICK_COOKIE"),
    ["Referer"] = os.getenv("TICK_REFERER"),
  }, body)
end
