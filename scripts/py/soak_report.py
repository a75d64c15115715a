"""The report of scripts/soak: one row per minute, and the acceptance verdict.

  python3 soak_report.py RUN_DIR --command CMD --rate R --capacity C --commit REV

Reads RUN_DIR/samples.tsv (RSS and descriptors of the replica and the balancer near the end
of each minute, minute 0 being before the soak) and RUN_DIR/soak-run.json (loadgen's result of
the whole run: its per-second timeline gives each minute's requests, errors, and the corrected
p99 of its median and its worst second; its histograms give the whole run's percentiles). Writes RUN_DIR/soak.json and RUN_DIR/soak.md, prints the Markdown, and exits 1 when
the acceptance fails: an error in any minute, or RSS or open descriptors of either process
moving more than 5 % over minutes 2..N (max − min, relative to the min).
"""
import argparse, csv, json, os, platform, sys

TOLERANCE = 0.05


def drift(values):
    """(max − min) / min over the values, 0 for fewer than two."""
    if len(values) < 2 or min(values) <= 0:
        return 0.0
    return (max(values) - min(values)) / min(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--command", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--capacity", type=float, required=True)
    ap.add_argument("--commit", required=True)
    args = ap.parse_args()

    with open(os.path.join(args.run_dir, "samples.tsv")) as f:
        samples = list(csv.DictReader(f, delimiter="\t"))
    with open(os.path.join(args.run_dir, "soak-run.json")) as f:
        result = json.load(f)
    timeline = result["timeline"]
    rows = []
    for sample in samples:
        m = int(sample["minute"])
        row = {
            "minute": m,
            "replica_rss_kib": int(sample["replica_rss_kib"]),
            "replica_fds": int(sample["replica_fds"]),
            "balancer_rss_kib": int(sample["balancer_rss_kib"]),
            "balancer_fds": int(sample["balancer_fds"]),
            "live_sessions": int(sample["live_sessions"]) if sample["live_sessions"] else None,
        }
        if m > 0:
            seconds = [t for t in timeline if (m - 1) * 60 <= t["t"] < m * 60]
            p99s = sorted(t["p99_us"] for t in seconds if t["requests"] > 0) or [0]
            row.update(
                requests=sum(t["requests"] for t in seconds),
                errors=sum(t["errors"] for t in seconds),
                p99_median_second_us=p99s[len(p99s) // 2],
                p99_worst_second_us=p99s[-1],
            )
        rows.append(row)
    request = result["phases"]["request"]["corrected"]
    whole = {
        "requests": result["phases"]["request"]["count"],
        "errors": sum(phase["errors"] for phase in result["phases"].values()),
        "p50_us": request["p50_us"],
        "p99_us": request["p99_us"],
        "p99_9_us": request["p99_9_us"],
        "max_us": request["max_us"],
    }

    minutes = [r for r in rows if r["minute"] > 0]
    judged = [r for r in minutes if r["minute"] >= 2]
    checks = {}
    for key in ("replica_rss_kib", "replica_fds", "balancer_rss_kib", "balancer_fds"):
        d = drift([r[key] for r in judged])
        checks[key] = {"drift": round(d, 4), "ok": d <= TOLERANCE}
    errors = whole["errors"]
    checks["errors"] = {"count": errors, "ok": errors == 0}
    passed = all(c["ok"] for c in checks.values())

    doc = {
        "command": args.command,
        "commit": args.commit,
        "machine": {"cores": os.cpu_count(), "kernel": platform.release()},
        "capacity_rps": args.capacity,
        "rate_rps": args.rate,
        "tolerance": TOLERANCE,
        "minutes": rows,
        "whole_run": whole,
        "checks": checks,
        "passed": passed,
    }
    tmp = os.path.join(args.run_dir, "soak.json.tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(args.run_dir, "soak.json"))

    def mib(kib):
        return f"{kib / 1024:.1f}"

    out = [
        f"# Soak: replica behind the built-in balancer, {len(minutes)} min at {args.rate:.0f} req/s",
        "",
        f"`{args.command}` at `{args.commit}`, {os.cpu_count()} cores, Linux {platform.release()}.",
        f"Capacity measured first (closed loop, 64 in flight): {args.capacity:,.0f} req/s; "
        f"the soak offers {args.rate:,.0f} req/s open-loop.",
        "",
        "| minute | requests | errors | p99, median second (µs) | p99, worst second (µs) "
        "| replica RSS (MiB) | replica fds "
        "| balancer RSS (MiB) | balancer fds | live sessions |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["minute"] == 0:
            cells = ["before", "", "", "", ""]
        else:
            cells = [
                str(r["minute"]),
                f"{r['requests']:,}",
                str(r["errors"]),
                f"{r['p99_median_second_us']:,}",
                f"{r['p99_worst_second_us']:,}",
            ]
        live = "" if r["live_sessions"] is None else str(r["live_sessions"])
        cells += [
            mib(r["replica_rss_kib"]),
            str(r["replica_fds"]),
            mib(r["balancer_rss_kib"]),
            str(r["balancer_fds"]),
            live,
        ]
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        f"Whole run (corrected, µs): {whole['requests']:,} requests, p50 {whole['p50_us']:,}, "
        f"p99 {whole['p99_us']:,}, p99.9 {whole['p99_9_us']:,}, max {whole['max_us']:,}; "
        f"{whole['errors']} errors (every phase: logins, requests, logouts).",
        "RSS and descriptors are read 2 s before each minute ends.",
    ]
    out += ["", f"Acceptance (minutes 2..{len(minutes)}, each within {TOLERANCE:.0%}; no errors):", ""]
    for key, c in checks.items():
        if key == "errors":
            out.append(f"- errors (whole run): {c['count']} — {'ok' if c['ok'] else 'FAILED'}")
        else:
            out.append(f"- {key}: moved {c['drift']:.1%} — {'ok' if c['ok'] else 'FAILED'}")
    out += ["", f"**{'PASSED' if passed else 'FAILED'}**"]
    text = "\n".join(out) + "\n"
    tmp = os.path.join(args.run_dir, "soak.md.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(args.run_dir, "soak.md"))
    sys.stdout.write(text)
    sys.stdout.write(f"\nwritten: {args.run_dir}/soak.json, soak.md\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
