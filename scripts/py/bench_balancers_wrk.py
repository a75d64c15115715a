"""One wrk run of scripts/bench-balancers, as a tab-separated line.

  python3 bench_balancers_wrk.py WRK_TXT TARGET ROUND

WRK_TXT is a `wrk --latency` output. Prints "TARGET ROUND REQ_PER_S P99_MS NON_2XX",
tab-separated, on stdout (the script appends it to its results.tsv).
"""
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
p99_ms = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{sys.argv[2]}\t{sys.argv[3]}\t{rps:.0f}\t{p99_ms:.3f}\t{errors.group(1) if errors else 0}")
