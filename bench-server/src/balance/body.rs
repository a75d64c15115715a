//! Response bodies the balancer sends: a backend's body streamed through, or a short body
//! of its own (errors, metrics).
//!
//! A streamed body holds the backend connection and the in-flight guard: when the body ends,
//! the connection returns to the pool and the backend's in-flight count drops; if the client
//! goes away first, the connection is closed instead.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};

use super::backend::{Backend, InFlight};
use super::pool::Sender;

/// The body of every response the balancer writes.
#[derive(Debug)]
pub enum ProxyBody {
    /// A backend's response body, streamed.
    Upstream(Upstream),
    /// A body of the balancer's own; `None` once sent.
    Local(Option<Bytes>),
}

/// A backend's response body and what to release when it ends.
#[derive(Debug)]
pub struct Upstream {
    inner: Incoming,
    release: Option<(Arc<Backend>, Sender)>,
    _in_flight: InFlight,
    ended: bool,
}

impl ProxyBody {
    /// A backend body; `sender` goes back to `owner`'s pool when the body ends.
    pub fn upstream(
        inner: Incoming,
        owner: Arc<Backend>,
        sender: Sender,
        in_flight: InFlight,
    ) -> ProxyBody {
        ProxyBody::Upstream(Upstream {
            inner,
            release: Some((owner, sender)),
            _in_flight: in_flight,
            ended: false,
        })
    }

    /// A complete body of the balancer's own.
    pub fn local(bytes: impl Into<Bytes>) -> ProxyBody {
        ProxyBody::Local(Some(bytes.into()))
    }
}

impl From<String> for ProxyBody {
    /// A refusal of the accept loop's own ([`crate::conn`]).
    fn from(text: String) -> ProxyBody {
        ProxyBody::local(text)
    }
}

impl Upstream {
    fn finish(&mut self) {
        self.ended = true;
        if let Some((owner, sender)) = self.release.take() {
            owner.pool.put(sender);
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ProxyBody::Local(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ProxyBody::Upstream(up) => {
                let polled = Pin::new(&mut up.inner).poll_frame(cx);
                match &polled {
                    Poll::Ready(None) => up.finish(),
                    Poll::Ready(Some(Ok(_))) if up.inner.is_end_stream() => up.finish(),
                    Poll::Ready(Some(Err(_))) => {
                        up.release = None;
                    }
                    _ => {}
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Local(bytes) => bytes.is_none(),
            ProxyBody::Upstream(up) => up.ended || up.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Local(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            ProxyBody::Local(None) => SizeHint::with_exact(0),
            ProxyBody::Upstream(up) => up.inner.size_hint(),
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // An empty body (e.g. 204, HEAD) may never be polled: it is complete all the same.
        if !self.ended && self.inner.is_end_stream() {
            self.finish();
        }
    }
}
