//! The grammars kart's compile-time checks and its runtime must agree on, in one place (the
//! way `serde_derive_internals` serves serde): durations (`#[task(timeout = "90min")]` and
//! `--task-timeout 90min` mean the same) and output-path templates (what `#[task(output)]`
//! accepts is what `gc` matches paths against).

pub mod duration;
pub mod template;
