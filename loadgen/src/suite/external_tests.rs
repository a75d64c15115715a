use super::*;
use authbench_report::model::{Network, Policy, Store};

fn target(replicas: usize) -> ExternalTarget {
    let urls: Vec<String> = (0..replicas)
        .map(|i| format!("\"http://r{i}:8080\""))
        .collect();
    let text = format!(
        "entry_url = \"http://lb:8080\"\nreplica_urls = [{}]\n[server]\nstore = \"redis\"\n\
         jwt_alg = \"ES256\"\nrevocation = \"denylist\"\nusers = 100\n",
        urls.join(", ")
    );
    ExternalTarget::parse(&text, "t", |_| None).unwrap()
}

fn config(auth: Auth) -> CellConfig {
    let jwt = auth == Auth::Jwt;
    CellConfig {
        auth,
        store: Store::Redis,
        alg: jwt.then_some(Alg::Es256),
        revocation: jwt.then_some(Revocation::Denylist),
        crypto_backend: jwt.then_some(CryptoBackend::AwsLc),
        extra_claim_bytes: 0,
        replicas: 2,
        balancer: Balancer::Builtin,
        policy: Policy::RoundRobin,
        network: Network::default(),
    }
}

#[test]
fn the_deployments_own_configuration_fits() {
    let t = target(2);
    for auth in [Auth::None, Auth::Session, Auth::Jwt] {
        assert_eq!(mismatch(&t, &config(auth)), None, "{auth}");
    }
    // The balancer and policy are the deployment's own; without replica_urls the count is too.
    let mut other_shape = config(Auth::Session);
    other_shape.policy = Policy::StickyCookie;
    other_shape.replicas = 5;
    assert_eq!(mismatch(&target(0), &other_shape), None);
    // A JWT without revocation does not touch the store.
    let mut jwt = config(Auth::Jwt);
    let mut plain = target(2);
    plain.server.revocation = Revocation::None;
    jwt.revocation = Some(Revocation::None);
    jwt.store = Store::Memory;
    assert_eq!(mismatch(&plain, &jwt), None);
}

#[test]
fn every_other_configuration_is_skipped_with_its_reason() {
    let t = target(2);
    let reason = |change: &dyn Fn(&mut CellConfig), auth| {
        let mut c = config(auth);
        change(&mut c);
        mismatch(&t, &c).unwrap()
    };
    assert!(reason(&|c| c.alg = Some(Alg::Rs256), Auth::Jwt)
        .contains("needs JWT algorithm RS256; the deployment signs with ES256"));
    assert!(reason(&|c| c.store = Store::Memory, Auth::Session).contains("needs store memory"));
    assert!(
        reason(&|c| c.revocation = Some(Revocation::None), Auth::Jwt)
            .contains("needs revocation none")
    );
    assert!(reason(&|c| c.replicas = 3, Auth::Session)
        .contains("needs 3 replica(s); the deployment file lists 2"));
    assert!(reason(&|c| c.balancer = Balancer::Gateway, Auth::Jwt).contains("gateway"));
    assert!(reason(&|c| c.extra_claim_bytes = 1024, Auth::Jwt).contains("1024 extra claim bytes"));
    assert!(reason(
        &|c| c.crypto_backend = Some(CryptoBackend::RustCrypto),
        Auth::Jwt
    )
    .contains("crypto backend"));
    assert!(reason(&|c| c.network.store_us = 500, Auth::None).contains("network delay"));
}
