//! A virtual user: one seeded account going through login → requests → logout, keeping its
//! cookie or bearer token between requests like a real client would.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::http::{Connection, HeaderLine, HttpClient, Outgoing, Reply, Target};
use crate::plan::{Plan, Scheme};
use crate::record::{Outcome, Phase, Sample};
use crate::sink::SampleSink;

/// What every worker and user of a run shares.
#[derive(Debug)]
pub struct Context {
    pub plan: Plan,
    pub client: HttpClient,
    samples: UnboundedSender<Vec<Sample>>,
    /// The mix's requests, serialised once, in mix order.
    targets: Vec<Target>,
    login: Target,
    refresh: Target,
    logout: Target,
}

impl Context {
    /// Shares `plan` and `client` with every worker; sample batches go to `samples`.
    pub fn new(
        plan: Plan,
        client: HttpClient,
        samples: UnboundedSender<Vec<Sample>>,
    ) -> anyhow::Result<Self> {
        let targets = plan
            .mix
            .0
            .iter()
            .map(|e| client.target(&e.method, &e.path))
            .collect::<Result<_, _>>()?;
        let prefix = plan.scheme.prefix();
        let login = client.target("POST", &format!("{prefix}/login"))?;
        let refresh = client.target("POST", &format!("{prefix}/refresh"))?;
        let logout = client.target("POST", &format!("{prefix}/logout"))?;
        Ok(Context {
            plan,
            client,
            samples,
            targets,
            login,
            refresh,
            logout,
        })
    }

    /// A sample sink for one worker (the users it serves share it).
    pub fn sink(&self) -> SampleSink {
        SampleSink::new(self.samples.clone())
    }
}

#[derive(Debug, Clone)]
struct Credential {
    /// `sid=…` or `Bearer …`.
    value: String,
    renew_at: Instant,
    /// `{"refresh_token": …}` when the server issued one (`--revocation refresh`): a
    /// renewal then trades it for new tokens instead of sending the password again.
    refresh_body: Option<Bytes>,
}

/// What a user sends through: a connection and a sample sink, owned by the
/// [`Worker`](crate::worker::Worker) the user belongs to.
#[derive(Debug)]
pub struct Io {
    /// The keep-alive connection.
    pub connection: Connection,
    /// Where samples go.
    pub sink: SampleSink,
}

/// One virtual user: a seeded account and the credential it holds. Users do not own
/// connections, so ten thousand logged-in users cost kilobytes, not a socket each.
#[derive(Debug)]
pub struct VirtualUser {
    login_body: Bytes,
    credential: Option<Credential>,
    /// A cookie a balancer set to pin this user (`SERVERID=r1`), sent back like a browser
    /// would, so sticky policies work.
    affinity: Option<String>,
    /// The header lines requests carry, rebuilt when the credential or the affinity cookie
    /// changes: the credential's line and an extra `Cookie` line (JWT with affinity).
    lines: [Option<HeaderLine>; 2],
    /// Bytes of the credential alone on the wire (`Cookie: sid=…` or `Authorization: …`).
    credential_bytes: u64,
    since_login: u64,
    next_login_cause: Arc<str>,
}

/// How a login or refresh ended.
enum Obtained {
    /// The user holds a new credential.
    Credential,
    /// 401, with the server's reason.
    Refused(Arc<str>),
    /// Anything else: no answer, another status, or an answer without a credential.
    Failed,
}

fn header_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::None | Scheme::Session => "Cookie",
        Scheme::Jwt => "Authorization",
    }
}

impl VirtualUser {
    /// User `user{index}` with its documented password `secret-{index}`.
    pub fn new(index: usize) -> Self {
        let body = serde_json::json!({
            "username": format!("user{index}"),
            "password": format!("secret-{index}"),
        });
        VirtualUser {
            login_body: Bytes::from(body.to_string()),
            credential: None,
            affinity: None,
            lines: [None, None],
            credential_bytes: 0,
            since_login: 0,
            next_login_cause: Arc::from("first"),
        }
    }

    /// Whether the user holds a credential.
    pub fn is_logged_in(&self) -> bool {
        self.credential.is_some()
    }

    /// Sends request `index` of the mix, intended at `intended`, logging in (or renewing)
    /// first when needed.
    pub async fn run_job(&mut self, io: &mut Io, ctx: &Context, index: u64, intended: Instant) {
        match &self.credential {
            None if ctx.plan.scheme == Scheme::None => {}
            None => self.login(io, ctx, Phase::Login, intended).await,
            Some(c) if Instant::now() >= c.renew_at => {
                self.next_login_cause = Arc::from("renew");
                self.login(io, ctx, Phase::Renew, intended).await;
            }
            Some(_) => {}
        }
        let slot = ctx.plan.mix.pick_index(index);
        let reply = self
            .exchange(
                io,
                ctx,
                Phase::Request,
                &ctx.targets[slot],
                None,
                intended,
                None,
            )
            .await;
        if let Some(reply) = reply {
            if reply.status == 401 {
                self.set_credential(ctx.plan.scheme, None);
                self.next_login_cause = reason_of(&reply).unwrap_or_else(|| Arc::from("unknown"));
            }
        }
        self.since_login += 1;
        if ctx
            .plan
            .logout_every
            .is_some_and(|every| self.since_login >= every)
        {
            self.logout(io, ctx).await;
        }
    }

    /// Logs out, if logged in.
    pub async fn logout(&mut self, io: &mut Io, ctx: &Context) {
        if self.credential.is_none() {
            return;
        }
        let now = Instant::now();
        self.exchange(io, ctx, Phase::Logout, &ctx.logout, None, now, None)
            .await;
        self.set_credential(ctx.plan.scheme, None);
        self.next_login_cause = Arc::from("logout");
    }

    /// Logs in; a renewal with a refresh token refreshes instead, and falls back to logging
    /// in when the server refuses the refresh token. The user ends with a new credential, or
    /// none if the server refused.
    async fn login(&mut self, io: &mut Io, ctx: &Context, phase: Phase, intended: Instant) {
        let refresh = match phase {
            Phase::Renew => self
                .credential
                .as_ref()
                .and_then(|c| c.refresh_body.clone()),
            _ => None,
        };
        let mut phase = phase;
        if let Some(body) = refresh {
            // A refresh is no login: it carries no login cause, so `logins` counts passwords.
            match self
                .obtain(io, ctx, phase, &ctx.refresh, body, intended, None)
                .await
            {
                Obtained::Credential | Obtained::Failed => return,
                Obtained::Refused(reason) => {
                    // Say why the password had to be sent again (`unknown_refresh_token`).
                    self.next_login_cause = reason;
                    phase = Phase::Login;
                }
            }
        }
        let body = self.login_body.clone();
        let cause = Some(self.next_login_cause.clone());
        self.obtain(io, ctx, phase, &ctx.login, body, intended, cause)
            .await;
    }

    /// Sends a login (with the cause it is counted under) or a refresh, and keeps the
    /// credential it returns.
    #[allow(clippy::too_many_arguments)]
    async fn obtain(
        &mut self,
        io: &mut Io,
        ctx: &Context,
        phase: Phase,
        target: &Target,
        body: Bytes,
        intended: Instant,
        login_cause: Option<Arc<str>>,
    ) -> Obtained {
        self.set_credential(ctx.plan.scheme, None);
        let started = Instant::now();
        let Some(reply) = self
            .exchange(io, ctx, phase, target, Some(&body), intended, login_cause)
            .await
        else {
            return Obtained::Failed;
        };
        if reply.status == 401 {
            return Obtained::Refused(reason_of(&reply).unwrap_or_else(|| Arc::from("unknown")));
        }
        if reply.status != 200 {
            return Obtained::Failed;
        }
        let mut refresh_body = None;
        let (value, expires_in) = match ctx.plan.scheme {
            Scheme::None => return Obtained::Failed,
            Scheme::Session => {
                let Some(sid) = reply.session_cookie.as_deref() else {
                    return Obtained::Failed;
                };
                (format!("sid={sid}"), expires_in(&reply))
            }
            Scheme::Jwt => {
                let Some(body) = reply
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                else {
                    return Obtained::Failed;
                };
                let Some(token) = body["access_token"].as_str() else {
                    return Obtained::Failed;
                };
                refresh_body = body["refresh_token"]
                    .as_str()
                    .map(|t| Bytes::from(serde_json::json!({ "refresh_token": t }).to_string()));
                (format!("Bearer {token}"), expires_in(&reply))
            }
        };
        let lifetime = Duration::from_secs(expires_in.unwrap_or(u64::MAX / 4));
        let renew_in = if lifetime > ctx.plan.renew_before * 2 {
            lifetime - ctx.plan.renew_before
        } else {
            lifetime / 2
        };
        self.set_credential(
            ctx.plan.scheme,
            Some(Credential {
                value,
                renew_at: started + renew_in,
                refresh_body,
            }),
        );
        self.since_login = 0;
        Obtained::Credential
    }

    /// Replaces the credential and rebuilds the header lines.
    fn set_credential(&mut self, scheme: Scheme, credential: Option<Credential>) {
        self.credential = credential;
        self.rebuild_lines(scheme);
    }

    /// Keeps a balancer's affinity cookie from `reply`.
    fn observe(&mut self, scheme: Scheme, reply: &Reply) {
        if let Some(cookie) = &reply.affinity_cookie {
            if self.affinity.as_deref() != Some(cookie.as_str()) {
                self.affinity = Some(cookie.clone());
                self.rebuild_lines(scheme);
            }
        }
    }

    fn rebuild_lines(&mut self, scheme: Scheme) {
        let value = self.credential.as_ref().map(|c| c.value.as_str());
        let affinity = self.affinity.as_deref();
        let line = |name: &str, value: &str| HeaderLine::new(name, value).ok();
        self.credential_bytes = value
            .and_then(|v| line(header_name(scheme), v))
            .map_or(0, |l| l.wire_len() as u64);
        self.lines = match (scheme, value, affinity) {
            (Scheme::Session, Some(sid), Some(aff)) => {
                [line("Cookie", &format!("{sid}; {aff}")), None]
            }
            (Scheme::Session, Some(sid), None) => [line("Cookie", sid), None],
            (Scheme::Jwt, Some(bearer), aff) => [
                line("Authorization", bearer),
                aff.and_then(|a| line("Cookie", a)),
            ],
            (_, None, Some(aff)) | (Scheme::None, _, Some(aff)) => [None, line("Cookie", aff)],
            _ => [None, None],
        };
    }

    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &mut self,
        io: &mut Io,
        ctx: &Context,
        phase: Phase,
        target: &Target,
        json: Option<&[u8]>,
        intended: Instant,
        cause: Option<Arc<str>>,
    ) -> Option<Reply> {
        // Logins carry no credential, only the affinity cookie (as a browser would).
        let (credential, credential_bytes) = if json.is_some() {
            (None, 0)
        } else {
            (self.lines[0].as_ref(), self.credential_bytes)
        };
        let extra = self.lines[1].as_ref();
        let keep_body = json.is_some();
        let sent = Instant::now();
        let (result, bytes_out) = ctx
            .client
            .send(
                &mut io.connection,
                Outgoing {
                    target,
                    credential,
                    extra,
                    json,
                    keep_body,
                    sent,
                },
            )
            .await;
        let done = Instant::now();
        let cold_start_us = result.as_ref().ok().and_then(|r| r.cold_start_us);
        let (outcome, reason, replica, bytes_in, reply) = match result {
            Ok(reply) => {
                let reason = if matches!(reply.status, 401 | 503) {
                    reason_of(&reply)
                } else {
                    None
                };
                (
                    Outcome::Status(reply.status),
                    reason,
                    reply.replica.clone(),
                    reply.bytes_in,
                    Some(reply),
                )
            }
            Err(failure) => (Outcome::Failed(failure), None, None, 0, None),
        };
        io.sink.push(Sample {
            phase,
            intended,
            sent,
            done,
            outcome,
            reason,
            login_cause: cause,
            replica,
            bytes_out,
            bytes_in,
            credential_bytes,
            cold_start_us,
        });
        if let Some(reply) = &reply {
            self.observe(ctx.plan.scheme, reply);
        }
        reply
    }
}

fn reason_of(reply: &Reply) -> Option<Arc<str>> {
    let body = reply.body.as_deref()?;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value["error"].as_str().map(Arc::from)
}

fn expires_in(reply: &Reply) -> Option<u64> {
    let body = reply.body.as_deref()?;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value["expires_in"].as_u64()
}
