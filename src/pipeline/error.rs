//! Why a pipeline stopped early.

use super::Report;
use crate::Panic;
use std::fmt;

/// The error type a fallible stage's error is boxed into (anything `Into` it works: every
/// `std::error::Error + Send + Sync`, `String`, `&str`).
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::BoxError;
///
/// fn parse(line: &str) -> Result<u32, BoxError> {
///     if line.is_empty() {
///         return Err("an empty line".into()); // a `&str` boxes
///     }
///     Ok(line.parse()?) // so does a `ParseIntError`
/// }
/// assert_eq!(parse("7").unwrap(), 7);
/// assert_eq!(parse("").unwrap_err().to_string(), "an empty line");
/// assert!(parse("x").is_err());
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a stage.
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::{Pipeline, StageError};
///
/// let err = Pipeline::from_iter(["7", "x"]).try_stage("parse", |s: &str| s.parse::<u8>()).collect().unwrap_err();
/// let StageError::Failed(error) = &err.error else { panic!("a parse error, not a panic") };
/// assert!(error.downcast_ref::<std::num::ParseIntError>().is_some());
/// ```
pub enum StageError {
    /// A fallible stage returned this error (downcast it to get the stage's own type back).
    Failed(BoxError),
    /// The stage's function panicked; the payload is inside ([`Panic::resume`] continues the
    /// panic on this thread).
    Panicked(Panic),
}

/// The first error of a run, where it happened, and what the run produced anyway.
///
/// After the first error the source stops pulling new items; the items already in flight are
/// drained through the stages to the sink (nothing is silently dropped), so `partial` holds
/// every output the sink received. Later failures of items in flight are not kept, but each
/// is counted in the report ([`StageReport::failed`](super::StageReport::failed)): every item
/// the source pulled is in `partial` or counted as failed (or as filtered out, by a filter
/// stage: [`Report::filtered`](super::Report::filtered)).
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::Pipeline;
///
/// let err = Pipeline::from_iter(0..100u32)
///     .try_stage("small", |x| if x < 50 { Ok(x) } else { Err("too big") })
///     .collect()
///     .unwrap_err();
/// assert_eq!(err.stage, "small");
/// let pulled = err.report.stages[0].items_in;
/// assert_eq!(pulled, err.partial.len() as u64 + err.report.failed());
/// ```
pub struct PipelineError<O = ()> {
    /// The name of the stage that failed.
    pub stage: String,
    /// The error or panic.
    pub error: StageError,
    /// What the sink received (for `collect`: the items collected, in sink order).
    pub partial: O,
    /// The run's measurements up to the end.
    pub report: Report,
}

impl<O> PipelineError<O> {
    /// What the sink received before and after the error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let err = Pipeline::from_iter([1, 2, 0]).try_stage("inv", |x| 6u32.checked_div(x).ok_or("zero")).collect().unwrap_err();
    /// assert_eq!(err.into_partial(), [6, 3]);
    /// ```
    #[must_use]
    pub fn into_partial(self) -> O {
        self.partial
    }

    /// `true` when the stage panicked (rather than returning an error).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let err = Pipeline::from_iter([1u8, 0]).stage("inv", |x| 1 / x).collect().unwrap_err();
    /// assert!(err.is_panic());
    /// ```
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self.error, StageError::Panicked(_))
    }
}

impl fmt::Debug for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageError::Failed(error) => f.debug_tuple("Failed").field(error).finish(),
            StageError::Panicked(panic) => match panic.message() {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f.write_str("Panicked(..)"),
            },
        }
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageError::Failed(error) => error.fmt(f),
            StageError::Panicked(panic) => panic.fmt(f),
        }
    }
}

impl<O> fmt::Debug for PipelineError<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineError")
            .field("stage", &self.stage)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<O> fmt::Display for PipelineError<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pipeline stage `{}` failed: {}", self.stage, self.error)
    }
}

/// The stage's error is not its `source`: its `Display` is already part of this error's (a
/// stage's error is reached through [`StageError::Failed`]). The source is the stage error's
/// own source, so that a chain of causes (`anyhow`'s `{:#}`) names each cause once.
impl<O> std::error::Error for PipelineError<O> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// `Display` shows the stage's error (or the panic's message) itself, so `source` is that
/// error's own source, and a chain of causes names each cause once.
impl std::error::Error for StageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StageError::Failed(error) => error.source(),
            StageError::Panicked(_) => None,
        }
    }
}
