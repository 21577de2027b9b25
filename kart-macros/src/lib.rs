//! Procedural macros for kart. Use them through `kart_core` (`#[kart_core::task]`), which
//! re-exports them together with everything the generated code names.

mod ctxt;
mod expand;
mod parse;
mod template;
mod validate;

use proc_macro::TokenStream;

/// Turns an ordinary function into a kart task family.
///
/// See the `kart_core` documentation and the README for the options; each misuse is a
/// compile error pointing at the offending token (the cases live in `tests/ui`).
#[proc_macro_attribute]
pub fn task(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::task(args.into(), input.into()).into()
}
