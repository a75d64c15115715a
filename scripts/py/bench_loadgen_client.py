"""One client run of scripts/bench-loadgen, as a line of numbers.

  python3 bench_loadgen_client.py NAME OUTPUT TICKS HZ W0 W1

NAME is the client (wrk, loadgen, oha); OUTPUT is its combined stdout and stderr, ending in
/usr/bin/time's "cpu USER SYSTEM maxrss KB" line; TICKS is the CPU ticks (user + system) the
server used during the run, HZ the kernel's ticks per second (getconf CLK_TCK); W0 and W1 are
the wall-clock start and end in seconds. Reads the request count and duration from wrk's,
oha's or loadgen's summary and prints "NAME REQUESTS_PER_S CLIENT_CPU_US_PER_REQ SERVER_BUSY"
on stdout (server busy as a fraction of one core). Exits with a message when OUTPUT has no
request count.
"""
import re, sys
name, out, ticks, hz, w0, w1 = sys.argv[1:]
m = re.search(r"(\d+) requests in ([\d.]+)s", out)          # wrk
o = re.search(r"Total:\s+([\d.]+) (ms|secs?)\b.*?Requests/sec:\s+([\d.]+)", out, re.S)  # oha
if m:
    n, secs = int(m[1]), float(m[2])
elif o:
    secs = float(o[1]) / (1000 if o[2] == "ms" else 1)
    n = round(float(o[3]) * secs)
else:
    m = re.search(r"requests (\d+) .* over ([\d.]+)s", out)  # loadgen summary
    if not m:
        sys.exit(f"{name}: no request count in its output:\n{out}")
    n, secs = int(m[1]), float(m[2])
u, s = map(float, re.search(r"cpu ([\d.]+) ([\d.]+)", out).groups())
busy = int(ticks) / int(hz) / (float(w1) - float(w0))
print(f"{name} {n / secs:.0f} {(u + s) / n * 1e6:.2f} {busy:.3f}")
