//! What a stolen-cookie argument needs to know about the session cookie (claim S5): its
//! attributes as issued, the random bits in an ID, and that IDs do not repeat over many
//! logins.

use anyhow::Context as _;
use base64::Engine as _;

use super::client;
use super::context::SuiteContext;
use super::deploy;
use super::state_cost::config_of;
use authbench_report::model::{Auth, SessionSecurity};
use authbench_report::vocabulary::StateMeasure;

/// Logins sampled for distinct IDs.
const SAMPLES: u64 = 1000;
/// Users they are spread over.
const USERS: u64 = 50;

/// Logs in [`SAMPLES`] times on a one-replica in-process cluster and inspects the cookies.
pub async fn measure(ctx: &SuiteContext) -> anyhow::Result<SessionSecurity> {
    let deployment =
        deploy::start(ctx, &config_of(StateMeasure::SessionMemory), USERS as usize).await?;
    let result = sample(ctx, &deployment.entry(), USERS).await;
    deployment.stop().await;
    result
}

/// Logs in [`SAMPLES`] times at `base` (users `user0`… below `users`) and inspects the cookies.
pub async fn sample(ctx: &SuiteContext, base: &str, users: u64) -> anyhow::Result<SessionSecurity> {
    let mut ids = std::collections::HashSet::new();
    let mut first = None;
    for i in 0..SAMPLES {
        let credential =
            client::login(&ctx.http, base, Auth::Session, (i % users.max(1)) as usize).await?;
        ids.insert(credential.value.clone());
        first.get_or_insert(credential);
    }
    let first = first.context("no login succeeded")?;
    Ok(SessionSecurity {
        cookie_attributes: attributes(first.set_cookie.as_deref().unwrap_or_default()),
        id_bits: id_bits(&first.value),
        ids_sampled: SAMPLES,
        ids_distinct: ids.len() as u64,
    })
}

/// The attributes after `name=value` in a `Set-Cookie`.
pub fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Bits in a base64url session ID (the decoded bytes; an undecodable ID counts 6 bits a
/// character, the most it could hold).
pub fn id_bits(id: &str) -> u32 {
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id) {
        Ok(bytes) => u32::try_from(bytes.len() * 8).unwrap_or(u32::MAX),
        Err(_) => u32::try_from(id.len() * 6).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes_and_id_bits() {
        assert_eq!(
            attributes("sid=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800"),
            ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1800"]
        );
        assert_eq!(id_bits(&"A".repeat(43)), 256);
    }
}
