-- soak_wrk.lua - wrk's share of `make soak`: POST a fixed set of bodies in
-- turn, each thread on one keep-alive connection, paced, and count every
-- response against the status its body must get.
--
-- wrk -t N -c N -s soak_wrk.lua URL -- MANIFEST DELAY_MS
-- MANIFEST lines: "KIND INDEX CONTENT-TYPE FILE", KIND clean (must get 200)
-- or listed (must get 403). One connection per thread is what makes the
-- counting exact: a response always answers the thread's last request.
-- A request answered by no response is one of wrk's socket errors (it
-- reconnects and asks for a new request, which then owns the next
-- response). done() prints one "soak-wrk:" line of key=value pairs.

local items = {}
local next_item = 1
local pending = nil
local pause = 0

clean_ok, clean_bad, listed_ok, listed_bad, other = 0, 0, 0, 0, 0

local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

function init(args)
    for line in io.lines(args[1]) do
        local kind, index, ctype, path =
            line:match("^(%S+) (%S+) (%S+) (%S+)$")
        local f = assert(io.open(path, "rb"))
        local body = f:read("*a")
        f:close()
        table.insert(items, {
            kind = kind,
            req = wrk.format("POST", "/wrk/" .. kind .. "/" .. index,
                             {["Content-Type"] = ctype}, body)
        })
    end
    pause = tonumber(args[2])
    -- threads start at different items so both kinds are always in flight
    next_item = (id * 5) % #items + 1
end

function request()
    local item = items[next_item]
    next_item = next_item % #items + 1
    pending = item.kind
    return item.req
end

function response(status, headers, body)
    if pending == "clean" then
        if status == 200 then clean_ok = clean_ok + 1
        else clean_bad = clean_bad + 1 end
    elseif pending == "listed" then
        if status == 403 then listed_ok = listed_ok + 1
        else listed_bad = listed_bad + 1 end
    else
        other = other + 1
    end
    pending = nil
end

function delay()
    return pause
end

function done(summary, latency, requests)
    local keys = {"clean_ok", "clean_bad", "listed_ok", "listed_bad",
                  "other"}
    local total = {}
    for _, k in ipairs(keys) do
        total[k] = 0
        for _, t in ipairs(threads) do
            total[k] = total[k] + t:get(k)
        end
    end
    local e = summary.errors
    io.write(string.format(
        "soak-wrk: requests=%d clean_ok=%d clean_bad=%d listed_ok=%d " ..
        "listed_bad=%d other=%d connect=%d read=%d write=%d " ..
        "timeout=%d status=%d p99_ms=%.1f\n",
        summary.requests, total.clean_ok, total.clean_bad, total.listed_ok,
        total.listed_bad, total.other, e.connect, e.read,
        e.write, e.timeout, e.status, latency:percentile(99) / 1000))
end
