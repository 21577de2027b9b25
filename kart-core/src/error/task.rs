//! [`TaskError`]: what a task's own code fails with. Any error converts into it with `?` —
//! the user's enums, `std::io::Error`, `reqwest`, `sqlx`, `anyhow::Error`, a `String` — and
//! its whole `source()` chain is kept for the summary and the `failed` event.

use std::error::Error as StdError;
use std::fmt;

/// Any error, boxed.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What task functions return (`kart_core::Result`): `?` works on any error.
pub type TaskResult<T, E = TaskError> = std::result::Result<T, E>;

/// The error of a task's own code: `kart_core::Result<T>` is `Result<T, TaskError>`, so `?`
/// works on any error type a task body meets.
///
/// ```
/// #[derive(Debug)]
/// struct Upstream;
/// impl std::fmt::Display for Upstream {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("upstream API returned 503")
///     }
/// }
/// impl std::error::Error for Upstream {}
///
/// fn fetch() -> kart_core::Result<u32> {
///     let n: u32 = "12".parse()?;
///     Err(Upstream)?;
///     Ok(n)
/// }
/// assert_eq!(fetch().unwrap_err().to_string(), "upstream API returned 503");
/// ```
///
/// It does not implement `std::error::Error` itself (as `anyhow::Error` does not): that is
/// what lets every error type convert into it.
pub struct TaskError(BoxError);

impl TaskError {
    /// An error with just a message: `return Err(TaskError::msg("no rows for that day"))`.
    pub fn msg(message: impl fmt::Display) -> Self {
        TaskError(message.to_string().into())
    }

    /// The error and its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &(dyn StdError + 'static)> {
        let first: &(dyn StdError + 'static) = &*self.0;
        std::iter::successors(Some(first), |e: &&(dyn StdError + 'static)| (*e).source())
    }

    /// The error itself, to downcast or to inspect.
    pub fn get_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }

    /// The boxed error.
    pub fn into_inner(self) -> BoxError {
        self.0
    }
}

/// What a task function may fail with: any `std::error::Error + Send + Sync + 'static`,
/// `anyhow::Error`, a `String` or `&str`, or a [`TaskError`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an error type, so a task cannot fail with it",
    label = "the task's error type",
    note = "a task fails with any type implementing `std::error::Error + Send + Sync + 'static` (your own enums, `std::io::Error`, `anyhow::Error`, ...), a `String`, or `kart_core::TaskError`; `kart_core::Result<T>` takes them all through `?`"
)]
pub trait IntoTaskError {
    /// The error as a [`TaskError`].
    fn into_task_error(self) -> TaskError;
}

impl<E: Into<BoxError>> IntoTaskError for E {
    fn into_task_error(self) -> TaskError {
        TaskError(self.into())
    }
}

impl IntoTaskError for TaskError {
    fn into_task_error(self) -> TaskError {
        self
    }
}

impl<E: Into<BoxError>> From<E> for TaskError {
    fn from(error: E) -> Self {
        TaskError(error.into())
    }
}

/// The whole chain on one line, `outer: cause: root cause`. A cause whose text the message
/// before it already ends with is not repeated (errors that print their source themselves).
impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = String::new();
        for error in self.chain() {
            let text = error.to_string();
            if shown.is_empty() {
                shown = text;
            } else if !shown.ends_with(&text) {
                shown.push_str(": ");
                shown.push_str(&text);
            }
        }
        f.write_str(&shown)
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot load the day's rows")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_whole_chain_is_shown_once() {
        let io = std::io::Error::other("connection reset");
        let e: TaskError = Outer(io).into();
        assert_eq!(
            e.to_string(),
            "cannot load the day's rows: connection reset"
        );
        assert_eq!(e.chain().count(), 2);
        let e: TaskError = "plain".into();
        assert_eq!(e.to_string(), "plain");
    }
}
