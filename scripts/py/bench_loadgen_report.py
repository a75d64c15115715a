"""The report of scripts/bench-loadgen: medians per CPU setting, loadgen ÷ wrk, soak RSS.

  python3 bench_loadgen_report.py RUNS SOAK_TXT SOAK_JSON

RUNS has one line per client run, "PERCENT NAME RPS CPU_US_PER_REQ SERVER_BUSY" (PERCENT is
the CPU-quota setting; the rest is bench_loadgen_client.py's line). SOAK_TXT is the soak's
output with /usr/bin/time's "maxrss_kb N" line; SOAK_JSON is the soak's `loadgen run --out`
result (missing or unreadable: reported as no result). Prints the Markdown tables on stdout
and writes $OUT/bench-loadgen-$STAMP.json atomically. Environment (exported by the script):
STAMP, COMMAND_LINE, M_CPU, M_GIT, M_WRK, M_OHA, OUT, SOAK, SOAK_RATE, SOAK_USERS.
"""
import json, os, re, statistics as st, sys
SERVER_BOUND = 0.90  # a run where the server was this busy measured the server, not the client
runs = {}  # cpu percent -> client -> [(rps, cpu µs/req, server busy)]
for line in open(sys.argv[1]):
    pct, name, rps, cpu, busy = line.split()
    runs.setdefault(int(pct), {}).setdefault(name, []).append((float(rps), float(cpu), float(busy)))
settings = {}
for pct, clients in runs.items():
    label = f"at {pct}% of a core each" if pct < 100 else "without a CPU quota"
    print(f"\n### Clients {label}\n")
    print("| client | req/s (median) | client CPU µs/req (median) | server busy (median) |")
    print("|---|---:|---:|---:|")
    med = {}
    for n, v in clients.items():
        med[n] = {"rps": st.median(r for r, _, _ in v), "cpu_us_per_req": st.median(c for _, c, _ in v),
                  "server_busy": st.median(b for _, _, b in v)}
        m = med[n]
        print(f"| {n} | {m['rps']:.0f} | {m['cpu_us_per_req']:.2f} | {m['server_busy']:.0%} |")
    bound = max(b for v in clients.values() for _, _, b in v) >= SERVER_BOUND
    setting = {"client_cpu_percent": pct, "server_bound": bound,
               "runs": {n: [{"rps": r, "cpu_us_per_req": c, "server_busy": b} for r, c, b in v]
                        for n, v in clients.items()},
               "medians": med}
    if "wrk" in med and "loadgen" in med:
        # Rounds alternate the clients, so each round's pair saw the same machine; the median of
        # the per-round ratios is steadier than the ratio of medians when the machine drifts.
        per_round = [l[0] / w[0] for w, l in zip(clients["wrk"], clients["loadgen"])]
        ratio = {"rps": med["loadgen"]["rps"] / med["wrk"]["rps"],
                 "rps_per_round": per_round, "rps_round_median": st.median(per_round),
                 "cpu_per_request": med["loadgen"]["cpu_us_per_req"] / med["wrk"]["cpu_us_per_req"]}
        setting["loadgen_over_wrk"] = ratio
        limit = ("the server was the limit in at least one run (≥ 90 % busy): the rate is mostly the server's"
                 if bound else "the clients were the limit (server < 90 % busy in every run)")
        goal = " (target ≥ 1.0)" if not bound else ""
        print(f"\nloadgen ÷ wrk throughput: **{ratio['rps']:.3f}**{goal} (ratio of medians); per round "
              f"{' '.join(f'{r:.3f}' for r in per_round)}, median **{ratio['rps_round_median']:.3f}**; "
              f"CPU per request ratio: {ratio['cpu_per_request']:.3f} — {limit}")
    settings[str(pct)] = setting
soak = open(sys.argv[2]).read()
m = re.search(r"maxrss_kb (\d+)", soak)
s = None
try:
    s = json.load(open(sys.argv[3]))["summary"]
    got = f"{s['throughput_rps']:.0f} rps achieved, max backlog {s['max_backlog']}"
except Exception as e:
    got = f"no result ({e}); output:\n{soak}"
if m:
    print(f"\nsoak peak RSS: **{int(m[1]) / 1024:.1f} MB** (target < 100 MB); {got}")
e = os.environ
doc = {"generated_at": e["STAMP"], "command": e["COMMAND_LINE"],
       "machine": {"nproc": os.cpu_count(), "cpu_model": e["M_CPU"], "kernel": os.uname().release,
                   "git_commit": e["M_GIT"], "wrk": e["M_WRK"], "oha": e["M_OHA"]},
       "settings": settings,
       "soak": {"duration": e["SOAK"], "rate": float(e["SOAK_RATE"]), "users": int(e["SOAK_USERS"]),
                "peak_rss_mb": int(m[1]) / 1024 if m else None, "result_summary": s}}
os.makedirs(e["OUT"], exist_ok=True)
dest = os.path.join(e["OUT"], f"bench-loadgen-{e['STAMP']}.json")
with open(dest + ".tmp", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(dest + ".tmp", dest)
print(f"\nJSON: {dest}")
