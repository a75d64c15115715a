use super::*;

const GOOD: &str = r#"
name = "staging"
entry_url = "http://bench.example:8080/"
replica_urls = ["http://10.0.0.5:8080", "http://10.0.0.6:8080"]
redis_url = "redis://redis.example:6379"
admin_token_env = "AUTHBENCH_ADMIN_TOKEN"

[server]
store = "redis"
jwt_alg = "ES256"
revocation = "none"
users = 10000

[hooks]
kill_replica = "kubectl delete pod -l app=bench-server --wait=false"
restart_redis = "kubectl rollout restart statefulset/redis"
"#;

fn env(name: &str) -> Option<String> {
    (name == "AUTHBENCH_ADMIN_TOKEN").then(|| "s3cret-token\n".to_owned())
}

fn error(text: &str) -> String {
    format!(
        "{:#}",
        ExternalTarget::parse(text, "file", env).unwrap_err()
    )
}

#[test]
fn the_documented_file_parses() {
    let t = ExternalTarget::parse(GOOD, "file", env).unwrap();
    assert_eq!(t.name, "staging");
    assert_eq!(t.entry_url, "http://bench.example:8080");
    assert_eq!(t.replica_urls.len(), 2);
    assert_eq!(t.server.store, Store::Redis);
    assert_eq!(t.server.jwt_alg, Alg::Es256);
    assert_eq!(t.admin_token.as_ref().unwrap().expose(), "s3cret-token");
    assert!(
        !format!("{t:?}").contains("s3cret"),
        "Debug never shows the token"
    );
    let info = serde_json::to_string(&t.info()).unwrap();
    assert!(!info.contains("s3cret"));
    assert!(info.contains("\"hooks\":[\"kill_replica\",\"restart_redis\"]"));
    assert_eq!(t.hook_timeout(), DEFAULT_HOOK_TIMEOUT);
}

#[test]
fn the_smallest_file_parses_with_defaults() {
    let t = ExternalTarget::parse(
        "entry_url = \"https://lb:8443\"\n[server]\nstore = \"memory\"\njwt_alg = \"HS256\"\nusers = 5\n",
        "mine",
        env,
    )
    .unwrap();
    assert_eq!(t.name, "mine");
    assert_eq!(t.server.revocation, Revocation::None);
    assert!(t.replica_urls.is_empty() && t.admin_token.is_none() && t.hooks.named().count() == 0);
}

#[test]
fn unknown_keys_are_named() {
    let e = error(&GOOD.replace("name = ", "nmae = "));
    assert!(e.contains("nmae"), "{e}");
    let e = error(&GOOD.replace("users = 10000", "users = 10000\nreplicas = 3"));
    assert!(e.contains("replicas"), "{e}");
    let e = error(&GOOD.replace("restart_redis =", "restart_reddis ="));
    assert!(e.contains("restart_reddis"), "{e}");
}

#[test]
fn bad_values_are_named_with_their_key() {
    let e = error(&GOOD.replace("http://bench.example:8080/", "bench.example:8080"));
    assert!(
        e.contains("entry_url") && e.contains("bench.example:8080"),
        "{e}"
    );
    let e = error(&GOOD.replace("http://10.0.0.6:8080", "ftp://10.0.0.6"));
    assert!(
        e.contains("replica_urls[1]") && e.contains("ftp://10.0.0.6"),
        "{e}"
    );
    let e = error(&GOOD.replace("redis://redis.example:6379", "http://user:pw@redis"));
    assert!(e.contains("redis_url") && !e.contains("pw"), "{e}");
    let e = error(&GOOD.replace("\"ES256\"", "\"ES257\""));
    assert!(e.contains("ES257") && e.contains("jwt_alg"), "{e}");
    let e = error(&GOOD.replace("users = 10000", "users = 0"));
    assert!(e.contains("server.users = 0"), "{e}");
    let e = error(&GOOD.replace("entry_url = \"http://bench.example:8080/\"\n", ""));
    assert!(e.contains("entry_url"), "{e}");
}

#[test]
fn the_admin_token_comes_from_one_place() {
    let e = error(&GOOD.replace("AUTHBENCH_ADMIN_TOKEN", "NOT_SET_ANYWHERE"));
    assert!(
        e.contains("NOT_SET_ANYWHERE") && e.contains("not set"),
        "{e}"
    );
    let e = error(&GOOD.replace("[server]", "admin_token = \"x\"\n[server]"));
    assert!(e.contains("give one of them"), "{e}");
    let inline = GOOD.replace(
        "admin_token_env = \"AUTHBENCH_ADMIN_TOKEN\"",
        "admin_token = \"inline-secret\"",
    );
    let t = ExternalTarget::parse(&inline, "f", env).unwrap();
    assert_eq!(t.admin_token.unwrap().expose(), "inline-secret");
}

#[test]
fn hooks_are_checked() {
    let e = error(&GOOD.replace("[hooks]", "[hooks]\nstall_redis = \"kill -STOP 1\""));
    assert!(e.contains("resume_redis"), "{e}");
    let e = error(&GOOD.replace("[hooks]", "[hooks]\ntimeout_seconds = 0"));
    assert!(e.contains("hooks.timeout_seconds = 0"), "{e}");
    let e = error(&GOOD.replace(
        "[hooks]",
        "[hooks]\nresume_redis = \" \"\nstall_redis = \"x\"",
    ));
    assert!(e.contains("hooks.resume_redis"), "{e}");
}

#[tokio::test]
async fn a_hook_runs_bounded_and_its_failure_is_reported() {
    let ok = run_hook("kill_replica", "true", Duration::from_secs(10)).await;
    assert!(ok.is_ok());
    let e = run_hook(
        "kill_replica",
        "echo boom >&2; exit 3",
        Duration::from_secs(10),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("hooks.kill_replica") && e.contains('3') && e.contains("boom"),
        "{e}"
    );
    let e = run_hook("restart_redis", "sleep 30", Duration::from_millis(200))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hooks.restart_redis") && e.contains("still running"),
        "{e}"
    );
}

#[test]
fn a_server_that_reports_another_configuration_is_refused() {
    assert!(check(
        "replica_urls",
        "http://r",
        "store",
        "redis",
        &["redis".into()]
    )
    .is_ok());
    let e = check(
        "replica_urls",
        "http://r",
        "store",
        "redis",
        &["memory".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("server.store = \"redis\"") && e.contains("memory"),
        "{e}"
    );
    let e = check("entry_url", "http://r", "jwt_alg", "HS256", &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("bench-server"), "{e}");
}

/// The file documented in docs/deployment-file.md is one the parser accepts as written.
#[test]
fn the_documented_example_parses() {
    let doc = include_str!("../../../docs/deployment-file.md");
    let block = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let t = ExternalTarget::parse(block, "doc", env).unwrap();
    assert_eq!(t.name, "staging");
    assert_eq!(t.server.jwt_alg, Alg::Es256);
    let hooks: Vec<&str> = t.hooks.named().map(|(k, _)| k).collect();
    assert_eq!(
        hooks,
        [
            "kill_replica",
            "restart_redis",
            "stall_redis",
            "resume_redis"
        ]
    );
}

/// The Kubernetes example (deploy/kubernetes, run by its suite Job) is one the parser
/// accepts as written: the manifests' offline checks compare it with the replicas' flags,
/// this compares it with the parser.
#[test]
fn the_kubernetes_example_parses() {
    let text = include_str!("../../../deploy/kubernetes/jobs/suite/deployment.toml");
    let t = ExternalTarget::parse(text, "kubernetes", env).unwrap();
    assert_eq!(t.name, "kubernetes");
    assert_eq!(t.server.jwt_alg, Alg::Hs256);
    assert_eq!(t.hooks.named().count(), 0, "its hooks ship commented out");
}

/// A hook that leaves a process behind does not keep it: its process group is killed.
#[tokio::test]
async fn a_hook_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let command = format!("sleep 300 & echo $! > {}", pid_file.display());
    run_hook("stall_redis", &command, Duration::from_secs(10))
        .await
        .unwrap();
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |stat| stat.split(' ').nth(2) == Some("Z"))
    };
    // SIGKILL was sent before run_hook returned; wait (bounded) for the kernel to act.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        gone(),
        "the hook's background process {pid} is still running"
    );
}
