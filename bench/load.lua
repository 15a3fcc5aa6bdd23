-- wrk script for bench/load.mjs: a mix of what clients do, at full concurrency.
-- LOAD_PACKAGES (names, space-separated), LOAD_TOKEN and LOAD_UPLOAD_BYTES come
-- from the environment. Every answer that is not 2xx/3xx is counted as an error.

local names = {}
for name in string.gmatch(os.getenv("LOAD_PACKAGES") or "", "%S+") do names[#names + 1] = name end
local token = os.getenv("LOAD_TOKEN")
local upload_bytes = tonumber(os.getenv("LOAD_UPLOAD_BYTES") or "65536")

-- Per-thread tallies are plain globals: wrk's thread:get copies numbers, not tables.
local KINDS = { "download", "range", "list", "latest", "upload" }
local threads = {}
local kind

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + id)
  for _, k in ipairs(KINDS) do _G["n_" .. k] = 0 end
  errors = 0
  -- Each thread overwrites its own packages, so an upload never races another thread's check of
  -- the same name; downloads of those names meet overwrites in flight, which is the point.
  body = string.rep(string.char(65 + id), upload_bytes)
end

function request()
  local r = math.random(100)
  local name = names[math.random(#names)]
  if r <= 45 then
    kind = "download"
    return wrk.format("GET", "/assets/" .. name)
  elseif r <= 60 then
    kind = "range"
    return wrk.format("GET", "/assets/" .. name, { Range = "bytes=" .. math.random(0, 1000) .. "-" .. math.random(1001, 5000) })
  elseif r <= 75 then
    kind = "list"
    return wrk.format("GET", "/packages")
  elseif r <= 85 then
    kind = "latest"
    return wrk.format("GET", "/latest")
  else
    kind = "upload"
    local target = "churn-" .. id .. "-" .. math.random(3) .. ".bin"
    return wrk.format("PUT", "/assets/" .. target .. "?overwrite=true", { Authorization = "Bearer " .. token }, body)
  end
end

function response(status, headers, body)
  _G["n_" .. kind] = _G["n_" .. kind] + 1
  if status >= 400 then
    errors = errors + 1
    if errors <= 5 then io.stderr:write("error: " .. kind .. " answered " .. status .. "\n") end
  end
end

function done(summary, latency, requests)
  local total = { download = 0, range = 0, list = 0, latest = 0, upload = 0 }
  local errs = 0
  for _, thread in ipairs(threads) do
    for _, k in ipairs(KINDS) do total[k] = total[k] + thread:get("n_" .. k) end
    errs = errs + thread:get("errors")
  end
  io.write(string.format("LOAD-RESULT {\"requests\":%d,\"seconds\":%.2f,\"bytes\":%d,\"socket_errors\":%d,\"http_errors\":%d,\"download\":%d,\"range\":%d,\"list\":%d,\"latest\":%d,\"upload\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
    summary.requests, summary.duration / 1e6, summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    errs, total.download, total.range, total.list, total.latest, total.upload,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
