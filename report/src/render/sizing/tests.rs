//! The sizing's arithmetic on a hand-built run, its Markdown for the example run, and
//! docs/scale.md against the committed reference run.

use std::collections::BTreeMap;

use super::*;
use crate::model::{
    Alg, Balancer, CpuCost, Latency, Load, Network, Percentiles, Policy, StoreCapacity, Trial,
    WireBytes,
};

fn config(auth: Auth, store: Store, alg: Option<Alg>, replicas: usize) -> CellConfig {
    let balanced = replicas > 1;
    CellConfig {
        auth,
        store,
        alg,
        revocation: alg.map(|_| Revocation::None),
        crypto_backend: None,
        extra_claim_bytes: 0,
        replicas,
        balancer: if balanced {
            Balancer::Builtin
        } else {
            Balancer::None
        },
        policy: if balanced {
            Policy::RoundRobin
        } else {
            Policy::None
        },
        network: Network::default(),
    }
}

struct Measured {
    app_us: f64,
    balancer_us: Option<f64>,
    store_us: Option<f64>,
    ops: Option<f64>,
    bytes: (f64, f64, f64),
}

fn cell(id: &str, group: &str, config: CellConfig, m: Measured) -> Cell {
    let trial = Trial {
        requests: 10_000,
        errors: 0,
        window_seconds: 1.0,
        throughput_rps: 10_000.0,
        latency: Latency {
            corrected: Percentiles::default(),
            uncorrected: Percentiles::default(),
            spectrum: Vec::new(),
        },
        status: BTreeMap::new(),
        failures: BTreeMap::new(),
        unauthorized: BTreeMap::new(),
        unavailable: BTreeMap::new(),
        logins: BTreeMap::new(),
        replicas: BTreeMap::new(),
        bytes: WireBytes {
            sent: m.bytes.0,
            received: m.bytes.1,
            credential_header: m.bytes.2,
        },
        cpu: CpuCost {
            app_us_per_request: m.app_us,
            balancer_us_per_request: m.balancer_us,
            store_us_per_request: m.store_us,
            total_us_per_request: m.app_us + m.store_us.unwrap_or(0.0),
            ..CpuCost::default()
        },
        store_ops_per_request: m.ops,
        server_counted: None,
        exchanges: 0,
        hdr_log: None,
        timeline: Vec::new(),
    };
    Cell {
        id: id.to_owned(),
        group: group.to_owned(),
        config,
        load: Load::Open { rate: 2_000.0 },
        users: 10,
        warmup_seconds: None,
        trials: vec![trial],
        hops: Vec::new(),
    }
}

/// Sessions in Redis (saturated 30 µs, 2 ops, balancer 10 µs) and a stateless HS256 JWT
/// (equal-rate 20 µs only), a store that serves 50,000 ops/s.
fn hand_built() -> SuiteRun {
    let session = |replicas| config(Auth::Session, Store::Redis, None, replicas);
    let jwt = config(Auth::Jwt, Store::Memory, Some(Alg::Hs256), 1);
    let m = |app_us, balancer_us, store_us, ops, bytes| Measured {
        app_us,
        balancer_us,
        store_us,
        ops,
        bytes,
    };
    let mut run = crate::render::example::example_run_without_parts();
    run.env.cores = 8;
    run.cells = vec![
        cell(
            "equal-rate/session-redis/r1",
            EQUAL_RATE,
            session(1),
            m(40.0, None, Some(10.0), Some(2.0), (100.0, 200.0, 50.0)),
        ),
        cell(
            "equal-rate/jwt-hs256/r1",
            EQUAL_RATE,
            jwt,
            m(20.0, None, None, Some(0.0), (400.0, 200.0, 350.0)),
        ),
        cell(
            "scaling/session-redis/r1",
            SCALING,
            session(1),
            m(30.0, None, Some(10.0), Some(2.0), (100.0, 200.0, 50.0)),
        ),
        cell(
            "scaling/session-redis/r2",
            SCALING,
            session(2),
            m(
                35.0,
                Some(10.0),
                Some(10.0),
                Some(2.0),
                (100.0, 200.0, 50.0),
            ),
        ),
    ];
    run.store_capacity = Some(StoreCapacity {
        method: "GET".to_owned(),
        ops_per_second: 50_000.0,
        connections: 50,
    });
    run
}

fn target(rps: f64, headroom: f64, cores: Option<usize>) -> Target {
    Target {
        rps,
        headroom,
        cores_per_replica: cores,
        sessions: DEFAULT_SESSIONS,
    }
}

fn shared(s: &SchemeSizing) -> &StoreSizing {
    match &s.state {
        State::Shared(st) => st,
        other => panic!("{}: not a shared store: {other:?}", s.name),
    }
}

#[test]
fn ceil_rounds_up_and_keeps_exact_counts() {
    assert_eq!(ceil_div(8.0, 2.0), 4);
    assert_eq!(
        ceil_div(8.000_000_000_1, 2.0),
        4,
        "float noise is not a replica"
    );
    assert_eq!(ceil_div(8.1, 2.0), 5);
    assert_eq!(ceil_div(0.01, 2.0), 1, "any load needs one");
    assert_eq!(ceil_div(0.0, 2.0), 0);
    assert_eq!(ceil_div(f64::NAN, 2.0), 0);
    assert!((cores(1e6, 28.0, 0.7) - 40.0).abs() < 1e-9);
    assert!((gbit_per_s(1e6, 125.0) - 1.0).abs() < 1e-12);
}

#[test]
fn sizes_cores_replicas_shards_and_bandwidth() {
    let s = size(&hand_built(), &target(100_000.0, 0.5, None));
    assert_eq!(s.cores_per_replica, 8, "env.cores by default");
    let names: Vec<&str> = s.schemes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["session · redis", "jwt HS256"]);

    let session = &s.schemes[0];
    // The saturated scaling cell: 100,000 × 30 µs ÷ 10⁶ ÷ 0.5 = 6 cores → 1 replica of 8.
    assert_eq!(session.app_us.value(), Some(30.0));
    assert!((session.app_cores.unwrap() - 6.0).abs() < 1e-9);
    assert_eq!(session.replicas, Some(1));
    assert_eq!(session.balancer_us.value(), Some(10.0));
    assert_eq!(session.balancer_nodes, Some(1));
    // 200,000 ops/s ÷ (50,000 × 0.5) = exactly 8 shards, not 9.
    let st = shared(session);
    assert_eq!(st.ops_per_second, Some(200_000.0));
    assert_eq!(st.shards, Some(8));
    let total = session.memory.as_ref().and_then(|m| m.total_bytes);
    assert_eq!(total, None, "no state_cost in the run");

    let jwt = &s.schemes[1];
    assert_eq!(jwt.state, State::None, "a stateless JWT has no store");
    assert_eq!(
        jwt.app_us.value(),
        Some(20.0),
        "equal-rate without a cost part"
    );
    assert_eq!(
        jwt.balancer_us.value(),
        Some(10.0),
        "every saturated balanced cell"
    );
    assert!((gbit_per_s(100_000.0, jwt.bandwidth.sent.value().unwrap()) - 0.32).abs() < 1e-9);

    // Four cores per replica: 6 cores need 2; a little more load needs a 9th shard.
    let s = size(&hand_built(), &target(100_001.0, 0.5, Some(4)));
    assert_eq!(s.schemes[0].replicas, Some(2));
    assert_eq!(shared(&s.schemes[0]).shards, Some(9));
}

#[test]
fn store_capacity_falls_back_to_one_redis_core() {
    let mut run = hand_built();
    run.store_capacity = None;
    let s = size(&run, &target(100_000.0, 1.0, None));
    // 10 µs of Redis CPU per request for 2 ops: one core serves 200,000 ops/s.
    let st = shared(&s.schemes[0]);
    assert_eq!(st.shard_ops_per_second.value(), Some(200_000.0));
    assert_eq!(st.shards, Some(1));
}

#[test]
fn missing_figures_are_not_measured() {
    let mut run = hand_built();
    run.store_capacity = None;
    run.cells.retain(|c| c.group == EQUAL_RATE);
    for c in &mut run.cells {
        for t in &mut c.trials {
            t.cpu.store_us_per_request = None;
            t.bytes = WireBytes::default();
        }
    }
    let s = size(&run, &target(1e6, 0.7, None));
    let session = &s.schemes[0];
    assert_eq!(session.app_us.value(), Some(40.0), "the equal-rate cell");
    assert!(matches!(session.balancer_us, Figure::NotMeasured(_)));
    assert_eq!(session.balancer_nodes, None);
    let st = shared(session);
    assert!(matches!(st.shard_ops_per_second, Figure::NotMeasured(_)));
    assert_eq!(st.shards, None);
    assert!(matches!(session.bandwidth.sent, Figure::NotMeasured(_)));
    let md = markdown_for(&run, &target(1e6, 0.7, None), "runs/x", None);
    assert!(md.contains("not measured in this run"), "{md}");
    assert!(
        md.contains("| 0 (no store) | not measured | not measured | not measured | none |"),
        "no bandwidth invented:\n{md}"
    );

    // Store operations not counted: no shard count from an assumed 1.
    for c in &mut run.cells {
        c.trials[0].store_ops_per_request = None;
    }
    let s = size(&run, &target(1e6, 0.7, None));
    let st = shared(&s.schemes[0]);
    assert!(matches!(st.ops_per_request, Figure::NotMeasured(_)));
    assert_eq!(st.shards, None);

    // A run without cells sizes nothing, and says so without panicking.
    run.cells.clear();
    let md = markdown_for(&run, &target(1e6, 0.7, None), "runs/x", None);
    assert!(md.starts_with("# Scale on paper"));
}

#[test]
fn flags_are_validated() {
    let ok = target(1e6, 0.7, None);
    assert_eq!(ok.validate(), Ok(()));
    assert_eq!(target(1e6, 1.0, Some(1)).validate(), Ok(()));
    for rps in [0.0, -5.0, f64::NAN, f64::INFINITY] {
        let err = target(rps, 0.7, None).validate().unwrap_err().to_string();
        assert!(err.starts_with("--project "), "{err}");
    }
    for h in [0.0, -0.1, 1.01, f64::NAN] {
        let err = target(1e6, h, None).validate().unwrap_err().to_string();
        assert!(err.starts_with(&format!("--headroom {h}")), "{err}");
    }
    let err = target(1e6, 0.7, Some(0)).validate().unwrap_err();
    assert_eq!(err, TargetError::Cores(0));
}

#[test]
fn command_line_spells_out_every_flag() {
    assert_eq!(
        command_line(&target(1e6, 0.7, None), "results/r", Some("docs/scale.md")),
        "loadgen report --project 1000000 --headroom 0.7 --sessions 10000000 \
         --out docs/scale.md results/r"
    );
    assert_eq!(
        command_line(&target(2500.5, 1.0, Some(4)), "r", None),
        "loadgen report --project 2500.5 --headroom 1 --cores-per-replica 4 \
         --sessions 10000000 r"
    );
}

#[test]
fn snapshot_scale_example() {
    let run = crate::render::example::example_run();
    insta::assert_snapshot!(
        "scale_example",
        markdown_for(
            &run,
            &target(1e6, DEFAULT_HEADROOM, None),
            "results/example",
            None
        )
    );
}

/// The committed reference run `docs/scale.md` is generated from.
pub const REFERENCE_RUN: &str = "results/2026-12-04-vm-default";

/// docs/scale.md is what `loadgen report --project` makes of the committed reference run.
#[test]
fn docs_scale_md_is_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let run = crate::render::load(&root.join(REFERENCE_RUN)).unwrap();
    let want = markdown_for(
        &run,
        &target(1e6, DEFAULT_HEADROOM, None),
        REFERENCE_RUN,
        Some("docs/scale.md"),
    );
    let path = root.join("docs/scale.md");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date; regenerate it from the repository root with\n  \
         cargo run -p loadgen -- report --project 1000000 --headroom 0.7 \
         --sessions 10000000 --out docs/scale.md {REFERENCE_RUN}",
        path.display()
    );
}

#[test]
fn a_measured_capacity_is_cross_checked_against_redis_cpu() {
    let s = size(&hand_built(), &target(100_000.0, 0.5, None));
    let st = shared(&s.schemes[0]);
    assert_eq!(
        st.shard_ops_per_second.value(),
        Some(50_000.0),
        "it decides"
    );
    let check = st.cpu_check.as_ref().and_then(Figure::value);
    assert_eq!(check, Some(200_000.0), "10 µs per 2 ops on one core");
}
