"""The report of scripts/bench-balancers: medians per target and ratios against HAProxy.

  python3 bench_balancers_report.py RESULTS_TSV DEST_JSON COMMAND_LINE CONNS DURATION

RESULTS_TSV holds bench_balancers_wrk.py's lines for the targets direct, builtin, haproxy
and nginx. Writes DEST_JSON (the command, the machine from /proc/cpuinfo, the git commit of
the current directory, every run and the medians) and prints the Markdown table on stdout.
"""
import json, statistics, sys, platform, os, subprocess
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
runs = [{"target": t, "round": int(r), "rps": float(x), "p99_ms": float(p), "non_2xx": int(e)} for t, r, x, p, e in rows]
med = {}
for t in ("direct", "builtin", "haproxy", "nginx"):
    mine = [r for r in runs if r["target"] == t]
    med[t] = {"rps": statistics.median(r["rps"] for r in mine), "p99_ms": statistics.median(r["p99_ms"] for r in mine)}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
doc = {"command": sys.argv[3], "machine": {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release()},
       "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
       "runs": runs, "medians": med}
json.dump(doc, open(sys.argv[2], "w"), indent=2)
h = med["haproxy"]
print(f"/healthz, wrk -t1 -c{sys.argv[4]} -d{sys.argv[5]}; balancer on core 1, replica + wrk on core 0 "
      f"(direct: replica on core 1); medians of {len(runs) // 4} rounds\n")
print("| target | req/s | p99 ms | req/s ÷ HAProxy | p99 ÷ HAProxy |")
print("|--------|------:|-------:|----------------:|--------------:|")
for t, m in med.items():
    print(f"| {t} | {m['rps']:.0f} | {m['p99_ms']:.3f} | {m['rps'] / h['rps']:.2f} | {m['p99_ms'] / h['p99_ms']:.2f} |")
print(f"\nJSON: {sys.argv[2]}")
