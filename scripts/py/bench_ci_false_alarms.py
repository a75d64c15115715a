"""Which cells and metrics raised the false alarms of `scripts/bench-ci --false-alarm N`.

  python3 bench_ci_false_alarms.py FALSE_ALARM_DIR

Reads FALSE_ALARM_DIR/*/compare.json (one `loadgen compare` JSON result per same-build
comparison) and prints, most frequent first, "  COUNT× CELL METRIC" for every gated cell
metric and every state-cost entry whose verdict was "regressed".
"""
import collections, json, pathlib, sys
tally = collections.Counter()
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/compare.json")):
    doc = json.loads(path.read_text())
    for cell in doc["cells"]:
        for m in cell["metrics"]:
            if m["verdict"] == "regressed" and cell["gated"]:
                tally[(cell["id"], m["metric"])] += 1
    for s in doc["state_cost"]:
        if s["verdict"] == "regressed":
            tally[(f"state {s['kind']} in {s['store']}", s["metric"])] += 1
for (cell, metric), count in tally.most_common():
    print(f"  {count}× {cell} {metric}")
