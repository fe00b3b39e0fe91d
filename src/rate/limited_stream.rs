//! [`RateLimitedStream`]: a `Stream` whose items come out at the bucket's rate (governor's
//! `ratelimit_stream`). With the `futures` feature.

use super::async_acquire::UntilReadyFuture;
use super::bucket::TokenBucket;
use super::clock::Clock;
use super::tsc::TscClock;
use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

impl<C: Clock> TokenBucket<C> {
    /// Limits `stream` to this bucket's rate: each item, once the inner stream has produced it,
    /// waits for one token ([`until_ready`](TokenBucket::until_ready)) before it comes out
    /// (governor's `ratelimit_stream`). Other users of the bucket share its tokens.
    ///
    /// # Cancel safety
    ///
    /// Dropping the stream while an item waits for its token drops that item (it was already
    /// taken from the inner stream) and takes no token.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_millis(5), 1);
    /// let (tx, rx) = ringfence::channel::bounded(4);
    /// for n in 0..3 {
    ///     tx.send(n).unwrap();
    /// }
    /// drop(tx);
    /// let mut limited = bucket.limit_stream(rx.into_stream());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let start = Instant::now();
    /// let items = rt.block_on(async {
    ///     let mut items = Vec::new();
    ///     while let Some(n) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut limited).poll_next_item(cx)).await {
    ///         items.push(n);
    ///     }
    ///     items
    /// });
    /// assert_eq!(items, [0, 1, 2]);
    /// assert!(start.elapsed() >= Duration::from_millis(9)); // the 2nd and 3rd waited 5 ms each
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
    pub fn limit_stream<S: Stream + Unpin>(&self, stream: S) -> RateLimitedStream<'_, S, C> {
        RateLimitedStream { bucket: self, stream, item: None, wait: None, ended: false }
    }
}

/// The stream of [`TokenBucket::limit_stream`]: the inner stream's items, each after one token.
///
/// It is a `FusedStream` once the inner stream has ended (it then keeps returning `None`).
///
/// # Examples
///
/// ```
/// use ringfence::rate::{RateLimitedStream, TokenBucket};
///
/// let bucket = TokenBucket::new(100, std::time::Duration::from_secs(1), 10);
/// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
/// let limited: RateLimitedStream<'_, _> = bucket.limit_stream(rx.into_stream());
/// assert!(format!("{limited:?}").starts_with("RateLimitedStream"));
/// ```
#[must_use = "streams do nothing unless polled"]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub struct RateLimitedStream<'a, S: Stream, C: Clock = TscClock> {
    bucket: &'a TokenBucket<C>,
    stream: S,
    /// The item taken from the inner stream that waits for its token.
    item: Option<S::Item>,
    /// Its wait for the token (made when the item came).
    wait: Option<UntilReadyFuture<'a, C>>,
    /// The inner stream returned `None`.
    ended: bool,
}

impl<S: Stream + Unpin, C: Clock> RateLimitedStream<'_, S, C> {
    /// `poll_next` without `futures`' traits in scope: the next item once its token is taken,
    /// `None` once the inner stream has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let bucket = TokenBucket::new(1, std::time::Duration::from_secs(3600), 1);
    /// let (tx, rx) = ringfence::channel::bounded(2);
    /// tx.send('a').unwrap();
    /// tx.send('b').unwrap();
    /// let mut limited = bucket.limit_stream(rx.into_stream());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(std::pin::Pin::new(&mut limited).poll_next_item(&mut cx), Poll::Ready(Some('a')));
    /// assert_eq!(std::pin::Pin::new(&mut limited).poll_next_item(&mut cx), Poll::Pending); // an hour
    /// ```
    pub fn poll_next_item(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        if this.item.is_none() {
            if this.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.stream).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(item)) => {
                    this.item = Some(item);
                    this.wait = Some(this.bucket.until_ready());
                }
            }
        }
        let wait = this.wait.as_mut().expect("an item waits with its token's wait");
        if Pin::new(wait).poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.wait = None;
        Poll::Ready(this.item.take())
    }
}

impl<S: Stream + Unpin, C: Clock> Stream for RateLimitedStream<'_, S, C> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.poll_next_item(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let waiting = usize::from(self.item.is_some());
        let (low, high) = if self.ended { (0, Some(0)) } else { self.stream.size_hint() };
        (low.saturating_add(waiting), high.and_then(|high| high.checked_add(waiting)))
    }
}

impl<S: Stream + Unpin, C: Clock> futures_core::FusedStream for RateLimitedStream<'_, S, C> {
    fn is_terminated(&self) -> bool {
        self.ended && self.item.is_none()
    }
}

// Nothing is pinned in place: the inner stream is `Unpin`, and the token's wait is too.
impl<S: Stream, C: Clock> Unpin for RateLimitedStream<'_, S, C> {}

impl<S: Stream, C: Clock> fmt::Debug for RateLimitedStream<'_, S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitedStream")
            .field("waiting", &self.item.is_some())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
