#!/usr/bin/env python3
"""Checks of the rendered manifests that the Kubernetes schema cannot make.

Run by scripts/validate-manifests (which renders the kustomizations first):

    check_manifests.py --deployment-toml FILE [--bin-dir DIR] RENDERED.yaml...
    check_manifests.py --policy-only FILE.yaml      # per-object rules only (test fixtures)

Per object: pod hardening (non-root, read-only root, no privilege escalation, all
capabilities dropped, seccomp RuntimeDefault), requests and limits, probes on long-running
workloads, pinned image tags, every `$(VAR)` in args defined, Indexed Job shard count =
completions = parallelism.
Across objects: the merge Job lists exactly the shard files; the replicas' seeded --users
cover every loadgen run's users; deployment.toml agrees with the replicas' flags and names
existing Services; references to Secrets, ConfigMaps and PVCs resolve.
With --bin-dir: every bench-server / loadgen flag used, and every AUTHBENCH_* variable given
to bench-server, exists in `--help` of those binaries (flags still being added elsewhere are
reported as pending, not as errors).
Exits 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
OUR_PROGRAMS = {"bench-server", "loadgen"}
# Flags specified in issue 16 and being implemented in parallel: absent from --help of an
# older build is expected (noted), anything else absent is an error.
PENDING_FLAGS = {
    ("loadgen", "run"): {"--shard", "--start-at"},
    ("loadgen", "suite"): {"--deployment"},
}
# ConfigMaps created at run time, not by kustomize (README.md, "Run").
RUNTIME_CONFIGMAPS = {"loadgen-schedule"}
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

problems: list[str] = []
notes: list[str] = []


def problem(where: str, msg: str) -> None:
    problems.append(f"{where}: {msg}")


def load(paths: list[Path]) -> list[dict]:
    objs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    doc["__file"] = path.name
                    objs.append(doc)
    return objs


def ident(obj: dict) -> str:
    return f"{obj['__file']}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def pod_spec(obj: dict) -> dict | None:
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("spec", {})
    if kind in POD_KINDS:
        return obj.get("spec", {}).get("template", {}).get("spec", {})
    return None


def parse_args(args: list[str]) -> tuple[list[str], dict[str, list[str | None]]]:
    """Positional words and `--flag[=value]` (a following non-flag word is its value)."""
    positional: list[str] = []
    flags: dict[str, list[str | None]] = {}
    i = 0
    while i < len(args):
        a = str(args[i])
        if a.startswith("--"):
            if "=" in a:
                name, value = a.split("=", 1)
            elif i + 1 < len(args) and not str(args[i + 1]).startswith("--"):
                name, value = a, str(args[i + 1])
                i += 1
            else:
                name, value = a, None
            flags.setdefault(name, []).append(value)
        else:
            positional.append(a)
        i += 1
    return positional, flags


def program_of(container: dict) -> tuple[str, str, list[str], dict] | None:
    """(program, subcommand, positional after it, flags) for our own programs."""
    cmd = [str(c) for c in container.get("command", [])] + [str(a) for a in container.get("args", [])]
    if not cmd or Path(cmd[0]).name not in OUR_PROGRAMS:
        return None
    positional, flags = parse_args(cmd[1:])
    if not positional:
        return Path(cmd[0]).name, "", [], flags
    return Path(cmd[0]).name, positional[0], positional[1:], flags


def one(flags: dict, name: str, default: str | None = None) -> str | None:
    values = flags.get(name)
    return values[-1] if values else default


# ---------------------------------------------------------------- per-object rules


def check_pod_policy(obj: dict) -> None:
    spec = pod_spec(obj)
    if spec is None:
        return
    where = ident(obj)
    psc = spec.get("securityContext", {}) or {}
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        problem(where, "uses host namespaces")
    if spec.get("automountServiceAccountToken") is not False:
        problem(where, "automountServiceAccountToken must be false (no pod here calls the API)")
    containers = list(spec.get("containers", [])) + list(spec.get("initContainers", []))
    if not containers:
        problem(where, "no containers")
    for c in containers:
        cw = f"{where} container {c.get('name')}"
        csc = c.get("securityContext", {}) or {}
        if not (csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True):
            problem(cw, "runAsNonRoot is not true")
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        if uid is None or uid == 0:
            problem(cw, "runAsUser must be a numeric non-zero UID (kubelet cannot verify a named USER)")
        if csc.get("privileged"):
            problem(cw, "privileged")
        if csc.get("allowPrivilegeEscalation") is not False:
            problem(cw, "allowPrivilegeEscalation is not false")
        if csc.get("readOnlyRootFilesystem") is not True:
            problem(cw, "readOnlyRootFilesystem is not true")
        if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
            problem(cw, "capabilities.drop lacks ALL")
        if (csc.get("capabilities") or {}).get("add"):
            problem(cw, "adds capabilities")
        seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problem(cw, "seccompProfile is not RuntimeDefault")
        res = c.get("resources", {}) or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(part) or {}):
                    problem(cw, f"resources.{part}.{r} missing")
        image = str(c.get("image", ""))
        tail = image.rsplit("/", 1)[-1]
        if "@" not in image and (":" not in tail or tail.endswith(":latest")):
            problem(cw, f"image {image!r} has no pinned tag")
        if obj.get("kind") in LONG_RUNNING and c in spec.get("containers", []):
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in c:
                    problem(cw, f"{probe} missing")
        # Every $(VAR) in command/args must be an env var of the container (else Kubernetes
        # passes the text through literally).
        defined = {e.get("name") for e in c.get("env", []) or []}
        if obj.get("kind") == "Job" and obj["spec"].get("completionMode") == "Indexed":
            defined.add("JOB_COMPLETION_INDEX")
        for word in list(c.get("command", []) or []) + list(c.get("args", []) or []):
            for var in VAR_REF.findall(str(word)):
                if var not in defined:
                    problem(cw, f"$({var}) in args but no such env var")


def check_indexed_job(obj: dict) -> None:
    if obj.get("kind") != "Job" or obj["spec"].get("completionMode") != "Indexed":
        return
    where = ident(obj)
    spec = obj["spec"]
    n = spec.get("completions")
    if spec.get("parallelism") != n:
        problem(where, f"parallelism {spec.get('parallelism')} != completions {n}: shards must run at once")
    if spec.get("backoffLimit", 6) != 0:
        problem(where, "backoffLimit must be 0 (a retried shard would miss --start-at)")
    for c in pod_spec(obj).get("containers", []):
        prog = program_of(c)
        if not prog or prog[:2] != ("loadgen", "run"):
            continue
        _, _, _, flags = prog
        shard = one(flags, "--shard")
        m = re.fullmatch(r"\$\(JOB_COMPLETION_INDEX\)/(\d+)", shard or "")
        if not m:
            problem(where, f"--shard must be $(JOB_COMPLETION_INDEX)/N, got {shard!r}")
        elif int(m.group(1)) != n:
            problem(where, f"--shard …/{m.group(1)} but completions is {n}")
        if not one(flags, "--start-at"):
            problem(where, "--start-at missing: shards would not start together")
        out = one(flags, "--out") or ""
        if "$(JOB_COMPLETION_INDEX)" not in out:
            problem(where, f"--out {out!r} does not contain $(JOB_COMPLETION_INDEX): shards overwrite each other")


# ---------------------------------------------------------------- cross-object rules


def index(objs: list[dict]) -> dict[tuple[str, str], dict]:
    by = {}
    for o in objs:
        by[(o.get("kind"), o.get("metadata", {}).get("name"))] = o
    return by


def containers_of(objs: list[dict]):
    for o in objs:
        spec = pod_spec(o)
        if spec:
            for c in spec.get("containers", []):
                yield o, c


def check_references(objs: list[dict], by: dict) -> None:
    configmaps = {n for (k, n) in by if k == "ConfigMap"} | RUNTIME_CONFIGMAPS
    secrets = {n for (k, n) in by if k == "Secret"}
    pvcs = {n for (k, n) in by if k == "PersistentVolumeClaim"}
    for o in objs:
        spec = pod_spec(o)
        if not spec:
            continue
        for v in spec.get("volumes", []) or []:
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                problem(ident(o), f"volume {v['name']}: no ConfigMap {v['configMap']['name']}")
            if "secret" in v and v["secret"]["secretName"] not in secrets:
                problem(ident(o), f"volume {v['name']}: no Secret {v['secret']['secretName']}")
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in pvcs:
                problem(ident(o), f"volume {v['name']}: no PVC {v['persistentVolumeClaim']['claimName']}")
        for c in spec.get("containers", []):
            for e in c.get("env", []) or []:
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    name, key = ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
                    secret = by.get(("Secret", name))
                    if not secret:
                        problem(ident(o), f"env {e['name']}: no Secret {name}")
                    elif key not in (secret.get("data") or {}) and key not in (secret.get("stringData") or {}):
                        problem(ident(o), f"env {e['name']}: Secret {name} has no key {key}")
                if "configMapKeyRef" in ref and ref["configMapKeyRef"]["name"] not in configmaps:
                    problem(ident(o), f"env {e['name']}: no ConfigMap {ref['configMapKeyRef']['name']}")


def service_port(by: dict, host: str, port: int) -> str | None:
    """None when Service `host` exists and serves `port`, else the reason."""
    name = host.split(".")[0]
    svc = by.get(("Service", name))
    if not svc:
        return f"no Service {name!r}"
    ports = [p.get("port") for p in svc["spec"].get("ports", [])]
    if port not in ports:
        return f"Service {name!r} has no port {port} (has {ports})"
    return None


def check_cluster(objs: list[dict], by: dict, deployment_toml: Path) -> None:
    serve = [(o, program_of(c)) for o, c in containers_of(objs)]
    servers = [(o, p[3]) for o, p in serve if p and p[:2] == ("bench-server", "serve")]
    runs = [(o, p[3]) for o, p in serve if p and p[:2] == ("loadgen", "run")]
    merges = [(o, p) for o, p in serve if p and p[:2] == ("loadgen", "merge")]
    balancers = [(o, p[3]) for o, p in serve if p and p[:2] == ("bench-server", "balance")]
    if not servers:
        problem("manifests", "no bench-server serve container found")
        return

    # The replicas of every render agree with each other (both overlays share base/).
    def server_view(flags):
        return (
            one(flags, "--session-store", "memory"),
            one(flags, "--jwt-alg", "HS256"),
            one(flags, "--revocation", "none"),
            int(one(flags, "--users", "1000")),
        )

    views = {server_view(f) for _, f in servers}
    if len(views) != 1:
        problem("bench-server", f"replicas disagree between renders: {sorted(views)}")
    store, alg, revocation, users = sorted(views)[0]

    # Seeded accounts cover every loadgen run.
    for o, flags in runs:
        first = int(one(flags, "--first-user", "0"))
        n = int(one(flags, "--users", "100"))
        if first + n > users:
            problem(ident(o), f"loadgen uses user{first}…user{first + n - 1} but the replicas seed only {users} (--users)")
        target = urlsplit(one(flags, "--target") or "")
        why = service_port(by, target.hostname or "", target.port or 80)
        if why:
            problem(ident(o), f"--target {target.geturl()}: {why}")

    # The merge Job lists exactly the shard files of the Indexed Job.
    for o, flags in runs:
        job_n = o["spec"].get("completions")
        out = one(flags, "--out") or ""
        want = [out.replace("$(JOB_COMPLETION_INDEX)", str(i)) for i in range(job_n or 0)]
        if not merges:
            problem(ident(o), "no loadgen merge Job for its shards")
        for mo, (_, _, inputs, mflags) in merges:
            if inputs != want:
                problem(ident(mo), f"merges {inputs}, expected the {job_n} shards {want}")
            if one(mflags, "--out") in want:
                problem(ident(mo), "--out overwrites a shard file")

    # One per-replica Service per StatefulSet ordinal; the built-in balancer uses them all.
    for o in objs:
        if o.get("kind") != "StatefulSet":
            continue
        name, replicas = o["metadata"]["name"], o["spec"].get("replicas", 1)
        for i in range(replicas):
            svc = by.get(("Service", f"{name}-{i}"))
            sel = (svc or {}).get("spec", {}).get("selector", {})
            if sel.get("statefulset.kubernetes.io/pod-name") != f"{name}-{i}":
                problem(ident(o), f"replica {i} has no Service {name}-{i} selecting pod {name}-{i}")
        for bo, flags in balancers:
            hosts = sorted(urlsplit(b.split("=", 1)[-1]).hostname for b in flags.get("--backend", []))
            want = sorted(f"{name}-{i}" for i in range(replicas))
            if hosts != want:
                problem(ident(bo), f"--backend hosts {hosts}, expected the per-replica Services {want}")
            for b in flags.get("--backend", []):
                u = urlsplit(b.split("=", 1)[-1])
                why = service_port(by, u.hostname or "", u.port or 80)
                if why:
                    problem(ident(bo), f"--backend {b}: {why}")

    # deployment.toml (loadgen suite --deployment) describes this deployment.
    where = str(deployment_toml)
    try:
        dep = tomllib.loads(deployment_toml.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        problem(where, f"unreadable: {e}")
        return
    if not isinstance(dep.get("entry_url"), str):
        problem(where, "entry_url (required) missing")
    known = {"name", "entry_url", "replica_urls", "redis_url", "admin_token_env", "server", "hooks"}
    for k in dep:
        if k not in known:
            problem(where, f"unknown key {k!r}")
    for url in [dep.get("entry_url")] + list(dep.get("replica_urls", [])):
        if isinstance(url, str):
            u = urlsplit(url)
            why = service_port(by, u.hostname or "", u.port or 80)
            if why:
                problem(where, f"{url}: {why}")
    if "redis_url" in dep:
        u = urlsplit(dep["redis_url"])
        why = service_port(by, u.hostname or "", u.port or 6379)
        if why:
            problem(where, f"redis_url {dep['redis_url']}: {why}")
    server = dep.get("server", {})
    for key, have in (("store", store), ("jwt_alg", alg), ("revocation", revocation), ("users", users)):
        if key in server and str(server[key]).lower() != str(have).lower():
            problem(where, f"[server] {key} = {server[key]!r} but the replicas run with {have!r}")
    hooks = dep.get("hooks", {})
    for k in hooks:
        if k not in {"kill_replica", "restart_redis", "stall_redis", "resume_redis"}:
            problem(where, f"unknown hook {k!r}")
    token_env = dep.get("admin_token_env")
    for o, c in containers_of(objs):
        prog = program_of(c)
        if prog and prog[:2] == ("loadgen", "suite") and token_env:
            if token_env not in {e.get("name") for e in c.get("env", []) or []}:
                problem(ident(o), f"admin_token_env {token_env} is not set in the suite container")


def check_flags(objs: list[dict], bin_dir: Path) -> None:
    helps: dict[tuple[str, str], set[str]] = {}
    for o, c in containers_of(objs):
        prog = program_of(c)
        if not prog:
            continue
        name, sub, _, flags = prog
        key = (name, sub)
        if key not in helps:
            exe = bin_dir / name
            out = subprocess.run([str(exe), sub, "--help"], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                problem(ident(o), f"`{name} {sub}` is not a subcommand of {exe}")
                helps[key] = set()
                continue
            helps[key] = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", out.stdout))
            helps[key] |= set(re.findall(r"\[env: ([A-Z0-9_]+)", out.stdout))
        # bench-server reads its AUTHBENCH_* variables through clap: each must be documented.
        if name == "bench-server" and helps[key]:
            for e in c.get("env", []) or []:
                var = e.get("name", "")
                if var.startswith("AUTHBENCH_") and var not in helps[key]:
                    problem(ident(o), f"`{name} {sub}` reads no env var {var}")
        for flag in flags:
            if flag in helps[key]:
                continue
            if flag in PENDING_FLAGS.get(key, set()):
                notes.append(f"{name} {sub} {flag}: not in this build's --help yet (being added, issue 16)")
            elif helps[key]:
                problem(ident(o), f"`{name} {sub}` has no flag {flag}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deployment-toml", type=Path)
    ap.add_argument("--bin-dir", type=Path)
    ap.add_argument("--policy-only", action="store_true")
    ap.add_argument("files", nargs="+", type=Path)
    a = ap.parse_args()

    objs = load(a.files)
    for o in objs:
        check_pod_policy(o)
        check_indexed_job(o)
    if not a.policy_only:
        by = index(objs)
        check_references(objs, by)
        if a.deployment_toml is None:
            ap.error("--deployment-toml is required without --policy-only")
        check_cluster(objs, by, a.deployment_toml)
        if a.bin_dir:
            check_flags(objs, a.bin_dir)
    for n in sorted(set(notes)):
        print(f"note: {n}")
    unique = list(dict.fromkeys(problems))  # both overlays render base/: report once
    for p in unique:
        print(f"error: {p}")
    print(f"checked {len(objs)} objects: {len(unique)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
