//! Value outputs: what the task function returns, stored in a format.

use std::marker::PhantomData;

use super::{Kind, OutputKind};
use crate::error::{BoxError, Error, Result};
use crate::format::Format;
use crate::task::{DynTask, RunContext};

/// A value stored in format `F` (`Value<Json>` unless the task says otherwise).
pub struct Value<F>(PhantomData<F>);

impl<T: Send + 'static, F: Format<T>> Kind<T> for Value<F> {
    type Made = T;
    const OUTPUT: OutputKind = OutputKind::Value;
    const SUFFIX: &'static str = F::EXTENSION;

    /// Streams the value into the store's temporary (no copy of the whole output in memory
    /// on a local workspace).
    fn commit(value: T, ctx: &RunContext, key: &str) -> Result<()> {
        let mut write = |out: &mut (dyn std::io::Write + Send)| {
            F::write(&value, out)
                .map_err(|e| Error::msg(format!("cannot serialize the output: {e}")))
        };
        ctx.commit_with(key, &mut |store, before| {
            store.publish_from(key, &mut write, before)
        })
    }

    fn load(ctx: &RunContext, task: &dyn DynTask, key: &str) -> Result<T> {
        // A `()` output says nothing: a dependent needs only that the task is complete
        // (by its own rule, it may have no output at all).
        if let Ok(unit) = (Box::new(()) as Box<dyn std::any::Any>).downcast::<T>() {
            return Ok(*unit);
        }
        let bytes = ctx.read_input(task, key)?;
        F::read(bytes).map_err(|e| Error::CorruptOutput {
            path: ctx.workspace().target(key).path_for_display(),
            task_id: task.id().to_string(),
            message: e.to_string(),
        })
    }

    fn to_json(bytes: Vec<u8>) -> Option<std::result::Result<serde_json::Value, BoxError>> {
        F::to_json(bytes)
    }
}
