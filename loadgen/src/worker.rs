//! A worker: one task with one keep-alive connection, serving a fixed group of virtual
//! users in turn. Workers bound the connections (and memory) a run needs; users bound the
//! accounts and server-side sessions it creates.

use tokio::time::Instant;

use crate::http::Connection;
use crate::user::{Context, Io, VirtualUser};

/// One connection and the users that send through it.
#[derive(Debug)]
pub struct Worker {
    io: Io,
    users: Vec<VirtualUser>,
    next: usize,
}

impl Worker {
    /// Worker `w` of `workers`: it serves users `w`, `w + workers`, … of the plan's users
    /// (or user `w mod users` when there are more workers than users).
    pub fn new(ctx: &Context, w: usize, workers: usize) -> Worker {
        let users = ctx.plan.users.max(1);
        let first = ctx.plan.first_user;
        let mut mine: Vec<VirtualUser> = (w..users)
            .step_by(workers.max(1))
            .map(|i| VirtualUser::new(first + i))
            .collect();
        if mine.is_empty() {
            mine.push(VirtualUser::new(first + w % users));
        }
        Worker {
            io: Io {
                connection: Connection::default(),
                sink: ctx.sink(),
            },
            users: mine,
            next: 0,
        }
    }

    /// Sends request `index` for the next of this worker's users, in turn.
    pub async fn run_job(&mut self, ctx: &Context, index: u64, intended: Instant) {
        let slot = self.next;
        self.next = (slot + 1) % self.users.len();
        let user = &mut self.users[slot];
        user.run_job(&mut self.io, ctx, index, intended).await;
    }

    /// Logs every user out (end of run), then hands over the last samples.
    pub async fn finish(&mut self, ctx: &Context, logout: bool) {
        if logout {
            for user in &mut self.users {
                user.logout(&mut self.io, ctx).await;
            }
        }
        self.io.sink.flush();
    }
}
