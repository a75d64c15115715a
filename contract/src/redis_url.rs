//! What `--redis-url` points at: one Redis (`redis://…`, anything the `redis` crate accepts)
//! or a Redis Cluster (`redis+cluster://[user:pass@]host:port[,host:port…]`).
//!
//! The mode travels with the URL, so every process the URL is handed to (replicas, the
//! gateway's edge revocation, function instances) connects the same way without another flag.

/// The URL scheme that selects the Redis Cluster client.
pub const CLUSTER_SCHEME: &str = "redis+cluster://";

/// A parsed `--redis-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One Redis (or Valkey, or a proxy in front of a cluster): the URL as given.
    Single(String),
    /// A Redis Cluster: one `redis://[user:pass@]host:port` URL per seed node. The client
    /// discovers the other nodes and the slot map from any seed that answers.
    Cluster(Vec<String>),
}

impl RedisTarget {
    /// Parses `url`; the error says what is wrong (without the password: the caller names the
    /// flag and the redacted URL).
    pub fn parse(url: &str) -> Result<RedisTarget, String> {
        let Some(rest) = strip_scheme(url) else {
            if url.starts_with("rediss+cluster://") {
                return Err(
                    "TLS to a Redis Cluster is not supported (use redis+cluster://)".into(),
                );
            }
            return Ok(RedisTarget::Single(url.to_owned()));
        };
        if rest.contains(['?', '#']) {
            return Err("a Redis Cluster URL takes no query or fragment".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if !matches!(path, "" | "/" | "/0") {
            return Err(format!(
                "database {:?}: a Redis Cluster has only database 0",
                path.trim_start_matches('/')
            ));
        }
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((user, hosts)) => (Some(user), hosts),
            None => (None, authority),
        };
        let mut seeds = Vec::new();
        for node in hosts.split(',') {
            check_node(node)?;
            seeds.push(match userinfo {
                Some(user) => format!("redis://{user}@{node}"),
                None => format!("redis://{node}"),
            });
        }
        Ok(RedisTarget::Cluster(seeds))
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisTarget::Cluster(_))
    }
}

/// Whether `url` selects Redis Cluster mode (without checking the rest of it).
pub fn is_cluster_url(url: &str) -> bool {
    strip_scheme(url).is_some()
}

fn strip_scheme(url: &str) -> Option<&str> {
    let head = url.get(..CLUSTER_SCHEME.len())?;
    head.eq_ignore_ascii_case(CLUSTER_SCHEME)
        .then(|| &url[CLUSTER_SCHEME.len()..])
}

/// `host:port`, `[v6]:port`: the port is required (cluster nodes rarely listen on 6379 alone).
fn check_node(node: &str) -> Result<(), String> {
    if node.is_empty() {
        return Err("expected redis+cluster://HOST:PORT[,HOST:PORT…] (an empty node)".into());
    }
    if node.contains(|c: char| c.is_whitespace() || c == '@') {
        return Err(format!("node {node:?}: not HOST:PORT"));
    }
    let port = match node.strip_prefix('[') {
        Some(v6) => v6.split_once("]:").map(|(_, port)| port),
        None => node.rsplit_once(':').map(|(_, port)| port).filter(|_| {
            // A bare IPv6 address would split at its last colon: require brackets.
            !node[..node.len() - 1].contains("::")
        }),
    };
    let Some(port) = port else {
        return Err(format!(
            "node {node:?}: expected HOST:PORT (IPv6 as [ADDR]:PORT)"
        ));
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("node {node:?}: port {port:?} is not 1-65535")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn single_urls_pass_through() {
        for url in [
            "redis://127.0.0.1:6379",
            "redis://:pw@h:1/2",
            "unix:///tmp/r.sock",
        ] {
            assert_eq!(
                RedisTarget::parse(url).unwrap(),
                RedisTarget::Single(url.into())
            );
        }
        assert!(!is_cluster_url("redis://h:1"));
    }

    #[test]
    fn cluster_urls_become_seed_urls() {
        let t = RedisTarget::parse("redis+cluster://u:p@w@a:7000,[::1]:7001/").unwrap();
        assert_eq!(
            t,
            RedisTarget::Cluster(vec![
                "redis://u:p@w@a:7000".into(),
                "redis://u:p@w@[::1]:7001".into()
            ])
        );
        assert!(t.is_cluster());
        assert!(is_cluster_url("REDIS+CLUSTER://a:1"));
        assert_eq!(
            RedisTarget::parse("redis+cluster://a:1/0").unwrap(),
            RedisTarget::Cluster(vec!["redis://a:1".into()])
        );
    }

    #[test]
    fn bad_cluster_urls_say_why() {
        for (url, why) in [
            ("redis+cluster://", "empty node"),
            ("redis+cluster://a:1,", "empty node"),
            ("redis+cluster://a", "expected HOST:PORT"),
            ("redis+cluster://a:x", "not 1-65535"),
            ("redis+cluster://a:0", "not 1-65535"),
            ("redis+cluster://::1:7000", "IPv6"),
            ("redis+cluster://a:1/3", "only database 0"),
            ("redis+cluster://a:1?protocol=resp3", "no query"),
            ("rediss+cluster://a:1", "TLS"),
        ] {
            let err = RedisTarget::parse(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
