//! Credential sizes: one login per scheme, algorithm and claim payload against a
//! one-replica server, measuring what a client then sends on every request.

use super::client;
use super::context::SuiteContext;
use super::deploy;
use authbench_report::model::{
    Alg, Auth, Balancer, CellConfig, CryptoBackend, Network, Policy, Revocation, Store, TokenSize,
};

fn config(auth: Auth, alg: Option<Alg>, extra_claim_bytes: usize) -> CellConfig {
    let jwt = auth == Auth::Jwt;
    CellConfig {
        auth,
        store: Store::Memory,
        alg,
        revocation: jwt.then_some(Revocation::None),
        crypto_backend: jwt.then_some(CryptoBackend::AwsLc),
        extra_claim_bytes,
        replicas: 1,
        balancer: Balancer::None,
        policy: Policy::None,
        network: Network::default(),
    }
}

/// The session cookie, each algorithm's token, and the first algorithm's token with each
/// extra claim size.
pub async fn measure(
    ctx: &SuiteContext,
    algs: &[Alg],
    extra_claim_bytes: &[usize],
) -> anyhow::Result<Vec<TokenSize>> {
    let mut configs = vec![config(Auth::Session, None, 0)];
    for &alg in algs {
        configs.push(config(Auth::Jwt, Some(alg), 0));
    }
    if let Some(&first) = algs.first() {
        for &extra in extra_claim_bytes.iter().filter(|&&e| e > 0) {
            configs.push(config(Auth::Jwt, Some(first), extra));
        }
    }
    let mut sizes = Vec::new();
    for config in configs {
        if ctx.stopped() {
            break;
        }
        let deployment = deploy::start(ctx, &config, 1).await?;
        let credential = client::login(&ctx.http, &deployment.entry(), config.auth, 0).await;
        deployment.stop().await;
        let credential = credential?;
        sizes.push(TokenSize {
            auth: config.auth,
            alg: config.alg,
            extra_claim_bytes: config.extra_claim_bytes,
            credential_bytes: credential.value.len() as u64,
            // The header line as sent: name, ": ", value, CRLF.
            header_bytes: credential.header_line().len() as u64 + 2,
        });
    }
    Ok(sizes)
}
