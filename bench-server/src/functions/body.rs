//! Response bodies the pool sends: an instance's body streamed through, or a short body of
//! its own (errors, metrics, `/instances`).
//!
//! A streamed body holds the request's [`Slot`]: the slot stays taken until the body has
//! been sent to the end (the connection then goes back to the instance's pool) or the
//! client went away (the connection is closed), whichever comes first — that is when the
//! body is dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};

use super::instance::Instance;
use super::pool::Slot;
use crate::balance::pool::Sender;

/// The body of every response the pool writes.
#[derive(Debug)]
pub enum FunctionBody {
    /// An instance's response body, streamed.
    Upstream(Upstream),
    /// A body of the pool's own; `None` once sent.
    Local(Option<Bytes>),
}

/// An instance's response body and what to give back when it ends.
#[derive(Debug)]
pub struct Upstream {
    inner: Incoming,
    release: Option<(Arc<Instance>, Sender)>,
    _slot: Slot,
    ended: bool,
}

impl FunctionBody {
    /// An instance's body; `sender` goes back to `instance`'s connections when it ends, and
    /// `slot` is freed when it is dropped.
    pub fn upstream(
        inner: Incoming,
        instance: Arc<Instance>,
        sender: Sender,
        slot: Slot,
    ) -> FunctionBody {
        FunctionBody::Upstream(Upstream {
            inner,
            release: Some((instance, sender)),
            _slot: slot,
            ended: false,
        })
    }

    /// A complete body of the pool's own.
    pub fn local(bytes: impl Into<Bytes>) -> FunctionBody {
        FunctionBody::Local(Some(bytes.into()))
    }
}

impl From<String> for FunctionBody {
    /// A refusal of the accept loop's own ([`crate::conn`]).
    fn from(text: String) -> FunctionBody {
        FunctionBody::local(text)
    }
}

impl Upstream {
    fn finish(&mut self) {
        self.ended = true;
        if let Some((instance, sender)) = self.release.take() {
            if let Some(conns) = instance.conns() {
                if instance.retiring().is_none() {
                    conns.put(sender);
                }
            }
        }
    }
}

impl Body for FunctionBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            FunctionBody::Local(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            FunctionBody::Upstream(up) => {
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
            FunctionBody::Local(bytes) => bytes.is_none(),
            FunctionBody::Upstream(up) => up.ended || up.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FunctionBody::Local(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            FunctionBody::Local(None) => SizeHint::with_exact(0),
            FunctionBody::Upstream(up) => up.inner.size_hint(),
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
