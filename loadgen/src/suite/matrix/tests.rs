//! Matrix parsing and expansion.

use super::*;

/// The error of a matrix that does not parse, with its causes, as the user sees it.
fn error(parsed: anyhow::Result<SuitePlan>) -> String {
    format!("{:#}", parsed.unwrap_err())
}

#[test]
fn the_cost_part_measures_each_equal_rate_configuration_on_one_replica() {
    let plan = parse(
        "t",
        "[[cells]]\ngroup = \"equal-rate\"\nauth = [\"none\", \"session\", \"jwt\"]\n\
         replicas = [1, 3]\nbalancer = \"builtin\"\n\
         [[cells]]\ngroup = \"scaling\"\nauth = \"jwt\"\nalg = \"ES256\"\n\
         [cost]\nrounds = 4\nseconds = 0.1\nwarmup = 0.05\nconcurrency = 8\n",
    )
    .unwrap();
    let cost = plan.cost.unwrap();
    let names: Vec<String> = cost.configs.iter().map(CellConfig::slug).collect();
    assert_eq!(names, ["session-memory/r1", "jwt-hs256/r1"]);
    assert_eq!((cost.rounds, cost.concurrency), (4, 8));
    for (bad, key) in [
        (
            "rounds = 1\nseconds = 0.1\nwarmup = 0\nconcurrency = 1",
            "cost.rounds",
        ),
        (
            "rounds = 2\nseconds = 0\nwarmup = 0\nconcurrency = 1",
            "cost.seconds",
        ),
        (
            "rounds = 2\nseconds = 0.1\nwarmup = 0\nconcurrency = 0",
            "cost.concurrency",
        ),
        // Found by the fuzz target: this panicked in Duration::from_secs_f64.
        (
            "rounds = 2\nseconds = 0.1\nwarmup = 2.1e22\nconcurrency = 1",
            "cost.warmup",
        ),
    ] {
        let text = format!("[[cells]]\ngroup = \"equal-rate\"\nauth = \"jwt\"\n[cost]\n{bad}\n");
        let err = error(parse("t", &text));
        assert!(err.contains(key), "{err}");
    }
    let err = error(parse(
        "t",
        "[cost]\nrounds = 2\nseconds = 0.1\nwarmup = 0\nconcurrency = 1\n",
    ));
    assert!(err.contains("equal-rate"), "{err}");
}

#[test]
fn built_in_matrices_parse() {
    let default = load("default").unwrap();
    assert!(default.cells.iter().any(|c| c.config.auth == Auth::None));
    assert!(default.needs_redis());
    let quick = load("quick").unwrap();
    assert!(quick.cells.len() < default.cells.len());
    // Every authenticated equal-rate configuration has its cost measured.
    assert_eq!(quick.cost.map(|c| c.configs.len()), Some(5));
    assert_eq!(default.cost.map(|c| c.configs.len()), Some(11));
    // The store hop's configurations again at same-zone, with their own baseline.
    let same_zone: Vec<&str> = default
        .cells
        .iter()
        .filter(|c| !c.config.network.is_loopback())
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        same_zone,
        [
            "equal-rate/healthz/r1@same-zone",
            "equal-rate/session-redis/r1@same-zone",
            "equal-rate/jwt-hs256/r1@same-zone",
            "equal-rate/jwt-es256/r1@same-zone",
            "equal-rate/jwt-hs256-denylist-redis/r1@same-zone",
        ]
    );
    let network = load("network").unwrap();
    assert_eq!(network.cells.len(), 4 * 6);
    assert!(network
        .cells
        .iter()
        .any(|c| c.id.ends_with("@cross-region-store")));
}

#[test]
fn the_readme_example_parses() {
    let readme = include_str!("../../../../README.md");
    let start = readme.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let plan = parse("README", &readme[start..end]).unwrap();
    // Baseline, one session cell (sessions have no algorithm), 2 algorithms × 2 strategies.
    assert_eq!(plan.cells.len(), 1 + 1 + 2 * 2);
    assert_eq!(plan.revocation.len(), 3 * 2);
}

#[test]
fn lists_multiply_and_irrelevant_keys_collapse() {
    let plan = parse(
        "t",
        r#"
        [[cells]]
        group = "g"
        auth = ["session", "jwt"]
        store = ["memory", "redis"]
        alg = ["HS256", "ES256"]
        "#,
    )
    .unwrap();
    let ids: Vec<&str> = plan.cells.iter().map(|c| c.id.as_str()).collect();
    // Sessions: two stores, no algorithm; JWT without revocation: no store.
    assert_eq!(
        ids,
        [
            "g/session-memory/r1",
            "g/session-redis/r1",
            "g/jwt-hs256/r1",
            "g/jwt-es256/r1"
        ]
    );
}

#[test]
fn bad_matrices_name_the_key() {
    for (text, needle) in [
        ("[[cells]]\nalg = \"HS512\"", "cells[0].alg = \"HS512\""),
        ("[[cells]]\nreplicas = 3", "need a balancer"),
        (
            "[[cells]]\nreplicas = 3\nbalancer = \"nginx\"\npolicy = \"sticky-cookie\"",
            "no sticky cookie",
        ),
        ("[[cells]]\nload = \"half-open\"", "half-open"),
        ("[[cells]]\nspeed = 3", "unknown field `speed`"),
        ("[defaults]\ntrials = 0", "trials"),
        (
            "[[cells]]\ntrials = 0",
            "cells[0].trials must be at least 1",
        ),
        ("[[cells]]\nwarmup = -1", "cells[0].warmup = -1 must be ≥ 0"),
        // Found by the fuzz target: these panicked in Duration::from_secs_f64.
        ("[[cells]]\nwarmup = 1e300", "must be less than a day"),
        (
            "[defaults]\nwarmup = 1e20",
            "defaults.warmup = 100000000000000000000 must be less",
        ),
        ("[[faults]]\nkind = \"churn\"", "at least 2 replicas"),
        (
            "[[cells]]\ngroup = \"a\"\n[[cells]]\ngroup = \"a\"",
            "appears twice",
        ),
    ] {
        let err = error(parse("t", text));
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn cells_may_set_their_own_trials_and_warm_up() {
    let plan = parse(
        "t",
        "[defaults]\ntrials = 1\nwarmup = 0.5\n\n[[cells]]\ngroup = \"a\"\ntrials = 5\nwarmup = 0.2\n\n[[cells]]\ngroup = \"b\"",
    )
    .unwrap();
    assert_eq!(plan.cells[0].trials, 5);
    assert_eq!(plan.cells[0].warmup, Duration::from_millis(200));
    assert_eq!(plan.cells[1].trials, 1);
    assert_eq!(plan.cells[1].warmup, Duration::from_millis(500));
}

/// Ids are made of the vocabulary's names: the configurations of the reference run give
/// back the ids it recorded.
#[test]
fn slugs_rebuild_the_reference_run_ids() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/2026-12-04-vm-default/run.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let run: authbench_report::model::SuiteRun = serde_json::from_str(&text).unwrap();
    assert!(!run.cells.is_empty() && !run.faults.is_empty());
    for cell in &run.cells {
        assert_eq!(format!("{}/{}", cell.group, cell.config.slug()), cell.id);
    }
    for fault in &run.faults {
        assert_eq!(format!("{}/{}", fault.kind, fault.config.slug()), fault.id);
    }
}

#[test]
fn unknown_names_are_refused_with_their_key() {
    for (text, needle) in [
        (
            "[[cells]]\npolicy = \"none\"",
            "cells[0].policy = \"none\" is not one of round-robin, least-conn, sticky-cookie, hash-session",
        ),
        (
            "[[cells]]\nrevocation = [\"none\", \"blocklist\"]",
            "cells[0].revocation = \"blocklist\" is not one of none, denylist, token-version, refresh",
        ),
        ("[[revocation]]\ntriggers = \"expire\"", "revocation[0].triggers = \"expire\""),
        ("[[faults]]\nkind = \"kill-redis\"", "faults[0].kind = \"kill-redis\""),
        (
            "[state_cost]\nsessions = 10\nkinds = [\"session-disk\"]",
            "state_cost.kinds = \"session-disk\"",
        ),
        ("[token_sizes]\nalgs = [\"hs256\"]\nextra_claim_bytes = []", "token_sizes.algs = \"hs256\""),
    ] {
        let err = error(parse("t", text));
        assert!(err.contains(needle), "{text}: {err}");
    }
    let plan = parse(
        "t",
        "[state_cost]\nsessions = 10\nkinds = [\"session-memory\", \"denylist-redis\"]\n\
         [token_sizes]\nalgs = [\"EdDSA\", \"HS256\"]\nextra_claim_bytes = [0, 512]",
    )
    .unwrap();
    let kinds = plan.state_cost.unwrap().kinds;
    assert_eq!(
        kinds,
        [StateMeasure::SessionMemory, StateMeasure::DenylistRedis]
    );
    assert_eq!(plan.token_sizes.unwrap().algs, [Alg::EdDsa, Alg::Hs256]);
}

#[test]
fn network_profiles_multiply_and_take_the_matrix_overrides() {
    let plan = parse(
        "t",
        "[[cells]]\ngroup = \"equal-rate\"\nauth = [\"none\", \"session\"]\nstore = \"redis\"\n\
         network = [\"loopback\", \"same-zone\", \"custom\"]\n\
         [networks.same-zone]\nstore = \"0.3ms\"\n\
         [networks.custom]\nstore = \"2ms\"\n\
         [cost]\nrounds = 2\nseconds = 0.1\nwarmup = 0\nconcurrency = 1\n",
    )
    .unwrap();
    let ids: Vec<&str> = plan.cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "equal-rate/healthz/r1",
            "equal-rate/session-redis/r1",
            "equal-rate/healthz/r1@same-zone-c250-b100-s300",
            "equal-rate/session-redis/r1@same-zone-c250-b100-s300",
            "equal-rate/healthz/r1@custom-c0-b0-s2000",
            "equal-rate/session-redis/r1@custom-c0-b0-s2000",
        ]
    );
    let same = plan.cells[3].config.network;
    assert_eq!((same.client_us, same.store_us), (250, 300));
    // The cost part measures CPU, which distance does not change: once, on loopback.
    let cost = plan.cost.unwrap();
    assert_eq!(cost.configs.len(), 1);
    assert!(cost.configs[0].network.is_loopback());

    let cell = |network: &str, tables: &str| {
        error(parse(
            "t",
            &format!("[[cells]]\nauth = \"jwt\"\nnetwork = {network}\n{tables}"),
        ))
    };
    let err = cell("\"moon\"", "");
    assert!(
        err.contains("cells[0].network: \"moon\" is not one of loopback"),
        "{err}"
    );
    let err = cell("\"custom\"", "");
    assert!(
        err.contains("needs its delays: add [networks.custom]"),
        "{err}"
    );
    let err = cell("\"same-zone\"", "[networks.same-zone]\nstore = \"-1ms\"\n");
    assert!(
        err.contains("networks.same-zone.store: '-1ms' is negative"),
        "{err}"
    );
    let err = cell("\"same-zone\"", "[networks.same-zone]\nstore = \"20s\"\n");
    assert!(err.contains("above the 10 s"), "{err}");
    let err = cell("\"same-zone\"", "[networks.loopback]\nstore = \"1ms\"\n");
    assert!(err.contains("loopback has no delays"), "{err}");
}

#[test]
fn deployments_expand_per_scheme_and_authorizer_cache() {
    let plan = parse(
        "t",
        "[[deployments]]\ndeployment = \"lb-servers\"\nauth = \"session\"\n\
         store = [\"memory\", \"redis\"]\npolicy = \"sticky-cookie\"\n\
         [[deployments]]\ndeployment = \"gateway-functions\"\nauth = [\"jwt\", \"session\"]\n\
         store = \"redis\"\nalg = \"ES256\"\nmax_instances = 3\nidle_timeout = 0.4\n\
         authorizer_cache_ttl = [0, 1.5]\n",
    )
    .unwrap();
    let ids: Vec<&str> = plan.deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "deployment/lb-servers/session-memory/r2-sticky-cookie",
            "deployment/lb-servers/session-redis/r2-sticky-cookie",
            "deployment/gateway-functions/jwt-es256/f3c1",
            "deployment/gateway-functions/jwt-es256/f3c1-authz1500ms",
            "deployment/gateway-functions/session-redis/f3c1",
        ]
    );
    let f = plan.deployments[2].functions.unwrap();
    assert_eq!(
        (f.max_instances, f.instance_concurrency, f.idle_timeout_ms),
        (3, 1, 400)
    );
    assert_eq!(plan.deployments[0].functions, None);
    assert_eq!(plan.deployments[0].stages.len(), 3);
    assert!(plan.needs_redis());
}

#[test]
fn bad_deployments_name_the_key() {
    for (text, wanted) in [
        ("deployment = \"serverless\"", "deployments[0].deployment"),
        (
            "deployment = \"lb-servers\"\nmax_instances = 2",
            "max_instances applies",
        ),
        (
            "deployment = \"gateway-functions\"\nreplicas = 2",
            "replicas applies",
        ),
        (
            "deployment = \"gateway-functions\"\nalg = \"HS256\"",
            "HS256",
        ),
        ("deployment = \"lb-servers\"\nstages = \"1s:10~\"", "ramps"),
        (
            "deployment = \"lb-servers\"\nstages = \"fast\"",
            "deployments[0].stages",
        ),
        (
            "deployment = \"gateway-functions\"\nidle_timeout = 0",
            "idle_timeout",
        ),
        (
            "deployment = \"lb-servers\"\nauth = \"none\"",
            "either scheme",
        ),
    ] {
        let err = error(parse("t", &format!("[[deployments]]\n{text}\n")));
        assert!(err.contains(wanted), "{text}: {err}");
    }
}

#[test]
fn the_authorizer_cache_multiplies_gateway_revocation_rows() {
    let plan = parse(
        "t",
        "[[revocation]]\nauth = \"jwt\"\nalg = \"ES256\"\nrevocation = \"denylist\"\n\
         store = \"redis\"\nreplicas = 2\nbalancer = \"gateway\"\n\
         authorizer_cache_ttl = [0, 1.5]\nobserve = 1\n",
    )
    .unwrap();
    let ttls: Vec<u64> = plan
        .revocation
        .iter()
        .map(|r| r.gateway.unwrap().authorizer_cache_ttl_ms)
        .collect();
    assert_eq!(ttls, [0, 1500]);
    assert!(plan
        .revocation
        .iter()
        .all(|r| r.gateway.unwrap().edge_revocation));
    // A cached decision outlives the logout: the probes watch past its TTL.
    assert!(plan.revocation[1].observe >= Duration::from_millis(2500));
    let err = error(parse(
        "t",
        "[[revocation]]\nauth = \"jwt\"\nreplicas = 2\nbalancer = \"builtin\"\n\
         authorizer_cache_ttl = 1\n",
    ));
    assert!(err.contains("needs balancer = \"gateway\""), "{err}");
}
