//! `--shard I/N`: one of N slices of a plan, so N loadgen processes (on one machine or many)
//! together offer exactly the plan's load.
//!
//! The split follows k6's execution segments in spirit:
//! * **users** — shard `I` takes the contiguous accounts
//!   `first + ⌊I·U/N⌋ .. first + ⌊(I+1)·U/N⌋`: disjoint, covering, sizes differing by ≤ 1;
//! * **open-loop arrivals** — shard `I` sends the arrivals `k` of the whole schedule with
//!   `k mod N = I` (strided). The N shards together send exactly the unsharded arrival
//!   process, each at `rate/N`, interleaved rather than all at the same instant;
//! * **connections** and **closed-loop users** — split like the users, at least 1 each;
//! * **`--requests`** — shard `I` measures the arrivals `k < count` with `k mod N = I`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::plan::{LoadModel, Plan, PlanError, StopAt};

/// Which slice of the plan this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// 0-based index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| "must be INDEX/COUNT, e.g. 0/2".to_owned())?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("index '{i}' is not a whole number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("count '{n}' is not a whole number"))?;
        if count == 0 {
            return Err("the count of shards must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "the index must be below the count (0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The half-open range `⌊I·total/N⌋ .. ⌊(I+1)·total/N⌋` of `0..total`.
    pub fn range(self, total: usize) -> std::ops::Range<usize> {
        let at = |i: usize| ((i as u128 * total as u128) / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }

    /// This shard's share of `total`, at least 1.
    pub fn share_at_least_one(self, total: usize) -> usize {
        self.range(total).len().max(1)
    }

    /// How many of the arrivals `0..total` are this shard's (`k mod N = I`).
    pub fn strided(self, total: u64) -> u64 {
        let (i, n) = (self.index as u64, self.count as u64);
        if total <= i {
            0
        } else {
            (total - i).div_ceil(n)
        }
    }

    /// Whether arrival `k` of the whole schedule is this shard's.
    pub fn owns(self, k: u64) -> bool {
        k % self.count as u64 == self.index as u64
    }

    /// The slice of `whole` this shard runs. Errors name `--shard` and the value.
    pub fn slice(self, whole: &Plan) -> Result<Plan, PlanError> {
        let bad = |message: String| PlanError::new("--shard", self, message);
        if whole.users < self.count {
            return Err(bad(format!(
                "more shards than users ({}): every shard needs at least one user of --users",
                whole.users
            )));
        }
        let users = self.range(whole.users);
        let mut plan = whole.clone();
        plan.first_user = whole.first_user + users.start;
        plan.users = users.len();
        plan.connections = self.share_at_least_one(whole.connections);
        if let LoadModel::Closed { concurrency } = whole.model {
            if concurrency < self.count {
                return Err(bad(format!(
                    "more shards than --concurrency users ({concurrency})"
                )));
            }
            let share = self.range(concurrency).len();
            plan.model = LoadModel::Closed { concurrency: share };
            plan.connections = share;
        }
        if let StopAt::Requests { count } = whole.stop {
            let share = match whole.model {
                LoadModel::Open { .. } => self.strided(count),
                LoadModel::Closed { .. } => self.range(count as usize).len() as u64,
            };
            if share == 0 {
                return Err(bad(format!(
                    "more shards than --requests ({count}): every shard needs at least one"
                )));
            }
            plan.stop = StopAt::Requests { count: share };
        }
        plan.shard = Some(self);
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        assert!("3/2"
            .parse::<Shard>()
            .unwrap_err()
            .contains("below the count"));
        assert!("0/0".parse::<Shard>().unwrap_err().contains("at least 1"));
        assert!("1".parse::<Shard>().unwrap_err().contains("INDEX/COUNT"));
        assert!("a/2".parse::<Shard>().unwrap_err().contains("'a'"));
    }

    proptest! {
        #[test]
        fn ranges_are_disjoint_and_cover(total in 0usize..10_000, count in 1usize..64) {
            let mut next = 0;
            for index in 0..count {
                let r = Shard { index, count }.range(total);
                prop_assert_eq!(r.start, next);
                prop_assert!(r.len() <= total / count + 1);
                next = r.end;
            }
            prop_assert_eq!(next, total);
        }

        #[test]
        fn strided_arrivals_partition_the_schedule(total in 0u64..10_000, count in 1usize..64) {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            let sum: u64 = shards.iter().map(|s| s.strided(total)).sum();
            prop_assert_eq!(sum, total);
            for k in 0..total.min(200) {
                prop_assert_eq!(shards.iter().filter(|s| s.owns(k)).count(), 1);
            }
        }

        #[test]
        fn shares_are_at_least_one(total in 0usize..1000, count in 1usize..64) {
            for index in 0..count {
                let share = Shard { index, count }.share_at_least_one(total);
                prop_assert!(share >= 1);
            }
        }
    }
}
