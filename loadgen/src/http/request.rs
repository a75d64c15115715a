//! Requests as bytes. What never changes for a kind of request — the request line and `Host` —
//! is serialised once per (method, path) into a [`Target`]; a credential is serialised once per
//! login into a [`HeaderLine`]; sending a request only concatenates them into one write.

use std::io::Write as _;

use anyhow::bail;

/// The fixed head of one kind of request: `METHOD /path HTTP/1.1\r\nHost: authority\r\n`,
/// built once and reused for every request of that kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    head: Box<[u8]>,
    head_request: bool,
}

impl Target {
    /// The head for `method path` sent to `authority` (`host:port`). The method must be a
    /// token; the path must be in origin form (`/…`) without spaces or control characters.
    pub fn new(method: &str, path: &str, authority: &str) -> anyhow::Result<Self> {
        if method.is_empty() || !method.bytes().all(is_token) {
            bail!("bad method {method:?}");
        }
        if !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic()) {
            bail!("bad path {path:?}");
        }
        if authority.is_empty() || !authority.bytes().all(|b| b.is_ascii_graphic()) {
            bail!("bad authority {authority}");
        }
        let head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
        Ok(Target {
            head: head.into_bytes().into_boxed_slice(),
            head_request: method == "HEAD",
        })
    }

    /// Whether this is a `HEAD` request, whose response has no body whatever its headers say.
    pub fn is_head(&self) -> bool {
        self.head_request
    }
}

/// One header line, serialised once: `Name: value\r\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLine(Box<[u8]>);

impl HeaderLine {
    /// `name: value`; the name must be a token, the value visible ASCII, spaces and tabs
    /// (no line breaks).
    pub fn new(name: &str, value: &str) -> anyhow::Result<Self> {
        if name.is_empty() || !name.bytes().all(is_token) {
            bail!("bad header name {name:?}");
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
        {
            bail!("bad value for header {name}");
        }
        let line = format!("{name}: {value}\r\n");
        Ok(HeaderLine(line.into_bytes().into_boxed_slice()))
    }

    /// Its size on the wire, line break included.
    pub fn wire_len(&self) -> usize {
        self.0.len()
    }
}

/// Serialises one request into `buf` (cleared first): the target's head, the credential and
/// extra header lines, for a JSON body its `Content-Type` and `Content-Length`, the blank line
/// and the body.
pub(crate) fn write_request(
    buf: &mut Vec<u8>,
    target: &Target,
    lines: [Option<&HeaderLine>; 2],
    json: Option<&[u8]>,
) {
    buf.clear();
    buf.extend_from_slice(&target.head);
    for line in lines.into_iter().flatten() {
        buf.extend_from_slice(&line.0);
    }
    match json {
        Some(body) => {
            // Writing into a Vec cannot fail.
            let _ = write!(
                buf,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            buf.extend_from_slice(body);
        }
        None => buf.extend_from_slice(b"\r\n"),
    }
}

/// RFC 9110 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_with_a_credential_is_one_head() {
        let target = Target::new("GET", "/jwt/me?x=1", "127.0.0.1:8080").unwrap();
        let line = HeaderLine::new("Authorization", "Bearer abc").unwrap();
        let mut buf = Vec::new();
        write_request(&mut buf, &target, [Some(&line), None], None);
        assert_eq!(
            buf,
            b"GET /jwt/me?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer abc\r\n\r\n"
        );
        assert_eq!(line.wire_len(), "Authorization: Bearer abc\r\n".len());
        assert!(!target.is_head());
    }

    #[test]
    fn a_json_body_gets_its_type_and_length() {
        let target = Target::new("POST", "/jwt/login", "h:1").unwrap();
        let mut buf = vec![b'x'; 3];
        write_request(&mut buf, &target, [None, None], Some(br#"{"a":1}"#));
        assert_eq!(
            buf,
            b"POST /jwt/login HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\n\
              Content-Length: 7\r\n\r\n{\"a\":1}"
        );
    }

    #[test]
    fn bad_parts_are_refused() {
        assert!(Target::new("GET", "jwt/me", "h:1").is_err());
        assert!(Target::new("GET", "/a b", "h:1").is_err());
        assert!(Target::new("G T", "/", "h:1").is_err());
        assert!(Target::new("GET", "/", "").is_err());
        assert!(HeaderLine::new("Cookie", "sid=a\r\nX: y").is_err());
        assert!(HeaderLine::new("Co okie", "sid=a").is_err());
        assert!(Target::new("HEAD", "/", "h:1").unwrap().is_head());
    }
}
