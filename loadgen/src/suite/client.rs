//! Single exchanges off the load path: logging a seeded user in and out, an admin
//! force-logout, and probing whether a credential is still accepted. The state-cost,
//! token-size and revocation experiments are made of these.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use reqwest::header::{AUTHORIZATION, COOKIE, SET_COOKIE};

use authbench_report::model::Auth;

/// A credential as a client holds it: the header that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The scheme.
    pub auth: Auth,
    /// The session ID or the compact JWT.
    pub value: String,
    /// Seconds until the server stops accepting it (`expires_in`, or the cookie's Max-Age).
    pub expires_in: Option<u64>,
    /// The `Set-Cookie` that carried a session ID, as sent.
    pub set_cookie: Option<String>,
    /// The refresh token, when the server issued one (`--revocation refresh`).
    pub refresh_token: Option<String>,
}

impl Credential {
    /// The header line carrying it: `Cookie: sid=…` or `Authorization: Bearer …`.
    pub fn header_line(&self) -> String {
        match self.auth {
            Auth::Jwt => format!("Authorization: Bearer {}", self.value),
            _ => format!("Cookie: sid={}", self.value),
        }
    }

    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.auth {
            Auth::Jwt => request.header(AUTHORIZATION, format!("Bearer {}", self.value)),
            _ => request.header(COOKIE, format!("sid={}", self.value)),
        }
    }
}

fn prefix(auth: Auth) -> &'static str {
    match auth {
        Auth::Jwt => "/jwt",
        _ => "/session",
    }
}

/// Logs seeded user `user{index}` in at `base`.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    auth: Auth,
    index: usize,
) -> anyhow::Result<Credential> {
    let url = format!("{base}{}/login", prefix(auth));
    let response = http
        .post(&url)
        .json(&serde_json::json!({
            "username": format!("user{index}"),
            "password": format!("secret-{index}"),
        }))
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("POST {url}: HTTP {status}: {body}");
    }
    match auth {
        Auth::Jwt => {
            let body: serde_json::Value = response
                .json()
                .await
                .with_context(|| format!("POST {url}"))?;
            let value = body["access_token"]
                .as_str()
                .ok_or_else(|| anyhow!("POST {url}: no access_token in the response"))?
                .to_owned();
            Ok(Credential {
                auth,
                value,
                expires_in: body["expires_in"].as_u64(),
                set_cookie: None,
                refresh_token: body["refresh_token"].as_str().map(str::to_owned),
            })
        }
        _ => {
            let cookie = response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("sid="))
                .ok_or_else(|| anyhow!("POST {url}: no sid cookie in the response"))?
                .to_owned();
            let value = cookie
                .split(';')
                .next()
                .and_then(|kv| kv.strip_prefix("sid="))
                .unwrap_or_default()
                .to_owned();
            let expires_in = cookie
                .split(';')
                .filter_map(|attr| attr.trim().strip_prefix("Max-Age="))
                .find_map(|n| n.parse().ok());
            Ok(Credential {
                auth,
                value,
                expires_in,
                set_cookie: Some(cookie),
                refresh_token: None,
            })
        }
    }
}

/// Logs `credential` out at `base`.
pub async fn logout(
    http: &reqwest::Client,
    base: &str,
    credential: &Credential,
) -> anyhow::Result<()> {
    let url = format!("{base}{}/logout", prefix(credential.auth));
    expect_success(&url, credential.apply(http.post(&url))).await
}

/// Sends a `POST` to `url`; an error naming it unless the answer is 2xx.
async fn expect_success(url: &str, request: reqwest::RequestBuilder) -> anyhow::Result<()> {
    let response = request
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        bail!("POST {url}: HTTP {}", response.status())
    }
}

/// Ends every session (and, with a revocation strategy, every token) of `user{index}`.
pub async fn force_logout(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    index: usize,
) -> anyhow::Result<()> {
    let url = format!("{base}/admin/users/user{index}/logout");
    expect_success(&url, http.post(&url).bearer_auth(admin_token)).await
}

/// Whether `base` accepts `credential` on `GET /{scheme}/me` (`None`: no answer).
pub async fn accepted(http: &reqwest::Client, base: &str, credential: &Credential) -> Option<bool> {
    let url = format!("{base}{}/me", prefix(credential.auth));
    let response = credential.apply(http.get(&url)).send().await.ok()?;
    match response.status().as_u16() {
        200 => Some(true),
        401 => Some(false),
        _ => None,
    }
}

/// Trades `refresh_token` for new tokens at `base` (`POST /jwt/refresh`): the new refresh
/// token, `Ok(None)` when refused (401), an error on anything else.
pub async fn refresh(
    http: &reqwest::Client,
    base: &str,
    refresh_token: &str,
) -> anyhow::Result<Option<String>> {
    let url = format!("{base}/jwt/refresh");
    let response = http
        .post(&url)
        .json(&serde_json::json!({ "refresh_token": refresh_token }))
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    match response.status().as_u16() {
        200 => {
            let body: serde_json::Value = response
                .json()
                .await
                .with_context(|| format!("POST {url}"))?;
            body["refresh_token"]
                .as_str()
                .map(|t| Some(t.to_owned()))
                .ok_or_else(|| anyhow!("POST {url}: no refresh_token in the response"))
        }
        401 => Ok(None),
        status => bail!("POST {url}: HTTP {status}"),
    }
}

/// Runs `job(i)` for `i` in `0..count` on `workers` concurrent tasks; the first error
/// stops the rest and is returned.
pub async fn parallel<F, Fut>(count: u64, workers: usize, job: F) -> anyhow::Result<()>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let job = Arc::new(job);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let next = Arc::clone(&next);
        let job = Arc::clone(&job);
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= count {
                    return Ok(());
                }
                if let Err(e) = job(i).await {
                    next.store(count, Relaxed);
                    return Err(e);
                }
            }
        });
    }
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Err(e)) if result.is_ok() => result = Err(e),
            Err(e) if result.is_ok() => {
                result = Err(anyhow::Error::new(e).context("a worker task failed"));
            }
            _ => {}
        }
    }
    result
}
