"""Turns wrk runs into bench-server's per-request-cost report (used by scripts/bench-server).

Two subcommands:

  python3 bench_server.py run WRK_TXT NAME PATH SERVER_ARGS BEFORE AFTER ROLE ROUND
      WRK_TXT is one `wrk --latency` output; BEFORE and AFTER are the server's /metrics
      scrapes around it, each "CPU,USER_CPU,REQUESTS,VERIFY_SUM,VERIFY_COUNT" (see `scrape`
      in scripts/bench-server); ROLE is `reference` (/healthz) or `case`; ROUND counts from 1.
      Prints one JSON line for the run on stdout (the script appends it to runs.jsonl) and a
      one-line summary on stderr.

  python3 bench_server.py report WORK OUT_DIR
      Reads WORK/runs.jsonl, WORK/startup.txt (one startup time in ms per line) and
      WORK/logins.txt ("unknown_user|wrong_password SECONDS" per line), plus criterion's
      estimates under $REPO_ROOT/target/criterion/jwt_verify_<backend>/<alg>/new/ when they
      exist. Writes OUT_DIR/bench-server-$STAMP.json atomically and prints the Markdown
      report on stdout. Environment (exported by the script): REPO_ROOT, STAMP, COMMAND_LINE,
      M_NPROC, M_CPU, M_KERNEL, M_GIT, M_WRK, M_REDIS, CONNS, DURATION, WARMUP, RUNS, QUICK,
      BENCH_COST, DEFAULT_COST.
"""
import json, os, re, statistics as st, sys, time

def to_ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    return float(m[1]) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m[2]]

def run(path, name, route, args, before, after, role, rnd):
    (cpu0, user0, req0, vsum0, vn0), (cpu1, user1, req1, vsum1, vn1) = (
        [float(x) for x in s.split(",")] for s in (before, after))
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text)[1])
    lat = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+(\S+)", text, re.M))
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    sock = re.search(r"Socket errors:(.*)", text)
    dreq = int(req1 - req0)
    dcpu = cpu1 - cpu0
    dvn = vn1 - vn0
    r = {"case": name, "role": role, "round": int(rnd), "path": route,
         "server_args": args, "rps": rps,
         "p50_ms": round(to_ms(lat["50"]), 4), "p99_ms": round(to_ms(lat["99"]), 4),
         "requests": dreq, "cpu_seconds": round(dcpu, 6),
         "cpu_us_per_req": round(dcpu / dreq * 1e6, 3) if dreq else None,
         "user_cpu_us_per_req": round((user1 - user0) / dreq * 1e6, 3) if dreq else None,
         "verify_us_mean": round((vsum1 - vsum0) / dvn * 1e6, 3) if dvn else None,
         "non_2xx": int(bad[1]) if bad else 0,
         "socket_errors": sock[1].strip() if sock else None}
    print(json.dumps(r))
    print(f"    {route:<12} {rps:.0f} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
          f"{r['cpu_us_per_req']} CPU-µs/req, non-2xx {r['non_2xx']}", file=sys.stderr)

def e_root():
    return os.environ["REPO_ROOT"]

def report(work, out_dir):
    runs = [json.loads(l) for l in open(f"{work}/runs.jsonl")]
    cases, order = {}, []
    for r in runs:
        if r["case"] not in cases:
            order.append(r["case"])
            cases[r["case"]] = {"name": r["case"], "path": r["path"],
                                "server_args": r["server_args"], "runs": [],
                                "reference_runs": []}
        c = cases[r["case"]]
        if r["role"] == "case":
            c["path"] = r["path"]
            c["runs"].append(r)
        else:
            c["reference_runs"].append(r)
    keys = ("rps", "p50_ms", "p99_ms", "cpu_us_per_req", "user_cpu_us_per_req")
    for c in cases.values():
        c["median"] = {k: st.median(r[k] for r in c["runs"]) for k in keys}
        verify = [r["verify_us_mean"] for r in c["runs"] if r["verify_us_mean"] is not None]
        c["median"]["verify_us_mean"] = st.median(verify) if verify else None
        c["reference_median"] = {k: st.median(r[k] for r in c["reference_runs"]) for k in keys}
        pairs = list(zip(c["reference_runs"], c["runs"]))
        c["paired"] = {
            "rps_ratio": round(st.median(x["rps"] / h["rps"] for h, x in pairs), 4),
            "extra_cpu_us": round(st.median(x["cpu_us_per_req"] - h["cpu_us_per_req"]
                                            for h, x in pairs), 3),
            "extra_user_cpu_us": round(st.median(
                x["user_cpu_us_per_req"] - h["user_cpu_us_per_req"] for h, x in pairs), 3)}
        c["non_2xx_total"] = sum(r["non_2xx"] for r in c["runs"])
        if "redis" in c["server_args"]:
            c["note"] = "redis-server pinned to core 1, sharing it with wrk"
    startup = [float(l) for l in open(f"{work}/startup.txt")]
    logins = {}
    for l in open(f"{work}/logins.txt"):
        kind, secs = l.split()
        logins.setdefault(kind, []).append(float(secs) * 1e3)
    med = lambda c: cases[c]["median"]
    ratios = {"session_memory_rps_over_healthz": cases["session/me memory"]["paired"]["rps_ratio"],
              "jwt_verify_cpu_us": {n: cases[n]["paired"]["extra_cpu_us"]
                                    for n in order if n.startswith("jwt/me")}}
    # Target: /jwt/me CPU within 25 % of /healthz's plus criterion's jwt_verify estimate
    # (taken from target/criterion when `cargo bench -p authbench-benches -- jwt_verify` ran).
    checks = {}
    for n in order:
        if not n.startswith("jwt/me"):
            continue
        _, alg, backend = n.split()
        est = os.path.join(e_root(), "target", "criterion", f"jwt_verify_{backend}", alg,
                           "new", "estimates.json")
        if not os.path.exists(est):
            continue
        crit = json.load(open(est))["median"]["point_estimate"] / 1e3
        c = cases[n]
        for kind, key in (("total", "cpu_us_per_req"), ("user", "user_cpu_us_per_req")):
            limit = 1.25 * (c["reference_median"][key] + crit)
            checks.setdefault(n, {})[kind] = {
                "cpu_us": c["median"][key], "healthz_cpu_us": c["reference_median"][key],
                "criterion_verify_us": round(crit, 3), "limit_us": round(limit, 3),
                "met": c["median"][key] <= limit}
    ratios["jwt_cpu_target"] = checks
    e = os.environ
    doc = {"generated_at": e["STAMP"], "command": e["COMMAND_LINE"],
           "machine": {"nproc": int(e["M_NPROC"]), "cpu_model": e["M_CPU"],
                       "kernel": e["M_KERNEL"], "git_commit": e["M_GIT"],
                       "wrk": e["M_WRK"], "redis": e["M_REDIS"]},
           "settings": {"conns": int(e["CONNS"]), "duration": e["DURATION"],
                        "warmup": e["WARMUP"], "runs": int(e["RUNS"]), "quick": e["QUICK"] == "1",
                        "server": "taskset -c 0, --worker-threads 1, --users 1000, "
                                  "--password-hash-cost " + e["BENCH_COST"],
                        "wrk": f"taskset -c 1 wrk -t1 -c{e['CONNS']} --latency"},
           "cases": [cases[n] for n in order],
           "startup_ms": {"users": 10000, "runs": startup, "median": st.median(startup)},
           "login_ms": {"hash_cost": e["DEFAULT_COST"], "count": len(logins["unknown_user"]),
                        **{k: {"median": st.median(v), "runs": v} for k, v in logins.items()}},
           "ratios": ratios}
    os.makedirs(out_dir, exist_ok=True)
    dest = os.path.join(out_dir, f"bench-server-{e['STAMP']}.json")
    tmp = dest + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, dest)
    p = print
    p(f"## bench-server per-request cost ({e['STAMP']})\n")
    p(f"{e['M_CPU']}, {e['M_NPROC']} cores, kernel {e['M_KERNEL']}, commit {e['M_GIT']}; "
      f"server on core 0 (1 worker thread), wrk on core 1 (-c{e['CONNS']} -d{e['DURATION']}), "
      f"median of {e['RUNS']} round(s); each round pairs the case with /healthz on the same "
      f"server\n")
    p("| case | req/s | p50 ms | p99 ms | CPU µs/req | user CPU µs/req | verify µs | non-2xx "
      "| /healthz req/s | req/s ÷ /healthz | extra CPU µs/req | extra user CPU µs/req |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in order:
        m, c = med(n), cases[n]
        star = " ¹" if "note" in c else ""
        verify = f"{m['verify_us_mean']:.2f}" if m["verify_us_mean"] is not None else "–"
        p(f"| {n}{star} | {m['rps']:.0f} | {m['p50_ms']:.3f} | {m['p99_ms']:.3f} "
          f"| {m['cpu_us_per_req']:.2f} | {m['user_cpu_us_per_req']:.2f} | {verify} "
          f"| {c['non_2xx_total']} "
          f"| {c['reference_median']['rps']:.0f} | {c['paired']['rps_ratio']:.3f} "
          f"| {c['paired']['extra_cpu_us']:.2f} | {c['paired']['extra_user_cpu_us']:.2f} |")
    if any("note" in c for c in cases.values()):
        p("\n¹ redis-server pinned to core 1, sharing it with wrk.")
    r = ratios["session_memory_rps_over_healthz"]
    p(f"\n- /session/me (memory) ÷ /healthz throughput: **{r:.3f}** "
      f"(target ≥ 0.95: {'met' if r >= 0.95 else 'NOT met'})")
    p("- JWT verify cost (paired CPU µs/req above /healthz; compare with criterion):")
    for n, v in ratios["jwt_verify_cpu_us"].items():
        p(f"  - {n}: {v:.2f} µs")
    if checks:
        p("- /jwt/me CPU ≤ 1.25 × (/healthz CPU + criterion jwt_verify):")
        for n, kinds in checks.items():
            parts = [f"{k} {v['cpu_us']:.1f} vs limit {v['limit_us']:.1f} "
                     f"({'met' if v['met'] else 'NOT met'})" for k, v in kinds.items()]
            p(f"  - {n} (criterion {kinds['total']['criterion_verify_us']:.2f} µs): "
              + "; ".join(parts))
    else:
        p("- (run `cargo bench -p authbench-benches -- jwt_verify` first to check the JWT CPU "
          "target against criterion)")
    p(f"- startup to `listening on` with --users 10000: {st.median(startup):.1f} ms "
      f"(median of {len(startup)})")
    u, w = st.median(logins["unknown_user"]), st.median(logins["wrong_password"])
    p(f"- failed login, argon2 {e['DEFAULT_COST']}, median of {len(logins['unknown_user'])}: "
      f"unknown user {u:.1f} ms, wrong password {w:.1f} ms (difference {abs(u - w) / max(u, w) * 100:.1f}%)")
    p(f"\nJSON: {dest}")

if __name__ == "__main__":
    {"run": run, "report": report}[sys.argv[1]](*sys.argv[2:])
