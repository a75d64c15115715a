"""Measurements of scripts/bench-functions against a running `bench-server functions`.

  python3 bench_functions.py cold POOL_URL ADMIN_URL COUNT
  python3 bench_functions.py warm POOL_URL ADMIN_URL REQUESTS ROUNDS

cold: COUNT times, waits until the pool has no instance (run it with a short --idle-timeout),
then sends GET /.well-known/jwks.json on a new connection: a cold start. Prints the X-Cold-Start-Us values
(spawn to ready, as the pool measured it) and the client-side latency of those requests as
"cold LABEL p50 p90 max" lines in ms.

warm: one request to get an instance warm, then ROUNDS rounds alternating "direct" (the
instance's own URL from /instances) and "pool", each REQUESTS sequential GET /.well-known/jwks.json on one
keep-alive connection, latency per request with perf_counter. Prints per-round p50/p99 (µs)
and the median over rounds of pool − direct: the cost of the pool hop for a warm request.
Fails (exit 1) when a pool request in the warm phase was a cold start or went to another
instance.
"""
import http.client, json, statistics, sys, time, urllib.parse

# A cheap route the instances serve; the pool answers /healthz itself.
ROUTE = "/.well-known/jwks.json"


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def get_json(url, path):
    c = conn(url)
    c.request("GET", path)
    body = c.getresponse().read()
    c.close()
    return json.loads(body)


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def cold(pool, admin, count):
    starts, client = [], []
    for _ in range(count):
        deadline = time.monotonic() + 60
        while get_json(admin, "/instances")["instances"]:
            if time.monotonic() > deadline:
                sys.exit("the pool never became empty: is --idle-timeout short?")
            time.sleep(0.01)
        c = conn(pool)
        t0 = time.perf_counter()
        c.request("GET", ROUTE)
        r = c.getresponse()
        r.read()
        client.append((time.perf_counter() - t0) * 1e3)
        c.close()
        header = r.getheader("x-cold-start-us")
        if r.status != 200 or header is None:
            sys.exit(f"expected a 200 cold start, got {r.status} (X-Cold-Start-Us {header})")
        starts.append(int(header) / 1e3)
    for label, values in (("cold_start_header", starts), ("client_latency", client)):
        print(f"cold {label} p50 {quantile(values, 0.5):.2f} p90 {quantile(values, 0.9):.2f} "
              f"max {max(values):.2f} n {len(values)}")


def run_side(url, requests, expect_replica=None):
    c = conn(url)
    latencies = []
    for _ in range(requests):
        t0 = time.perf_counter()
        c.request("GET", ROUTE)
        r = c.getresponse()
        r.read()
        latencies.append((time.perf_counter() - t0) * 1e6)
        if r.status != 200:
            sys.exit(f"{url}: status {r.status}")
        if expect_replica is not None:
            if r.getheader("x-cold-start-us") is not None or r.getheader("x-replica") != expect_replica:
                sys.exit("a warm-phase request was a cold start or went to another instance")
    c.close()
    return quantile(latencies, 0.5), quantile(latencies, 0.99)


def warm(pool, admin, requests, rounds):
    c = conn(pool)
    c.request("GET", ROUTE)
    c.getresponse().read()
    c.close()
    instance = get_json(admin, "/instances")["instances"][0]
    direct, replica = instance["url"], instance["id"]
    diffs50, diffs99 = [], []
    for i in range(rounds):
        d50, d99 = run_side(direct, requests)
        p50, p99 = run_side(pool, requests, replica)
        print(f"warm round {i} direct p50 {d50:.1f} p99 {d99:.1f} pool p50 {p50:.1f} p99 {p99:.1f} (µs)")
        diffs50.append(p50 - d50)
        diffs99.append(p99 - d99)
    print(f"warm added_by_pool p50 {statistics.median(diffs50):.1f} p99 {statistics.median(diffs99):.1f} "
          f"(µs, median over {rounds} rounds of {requests} requests)")


mode = sys.argv[1]
if mode == "cold":
    cold(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif mode == "warm":
    warm(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
else:
    sys.exit(f"unknown mode {mode!r}")
