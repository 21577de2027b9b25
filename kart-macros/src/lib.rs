//! Procedural macros for kart. Use them through `kart_core` (`#[kart_core::task]`), which
//! re-exports them together with everything the generated code names.

//!
//! In serde_derive's and thiserror's shape: [`ast`] parses the function and its attributes
//! ([`attr`], keywords in [`symbol`]) into a model that keeps spans, [`valid`] checks the
//! rules across its parts, [`expand`] generates code from a valid model, and [`fallback`]
//! emits what keeps one mistake one error. Errors are collected ([`ctxt`]), never thrown
//! one at a time.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod symbol;
mod valid;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;

/// Turns an ordinary function into a kart task family.
///
/// See the `kart_core` documentation and the README for the options; each misuse is a
/// compile error pointing at the offending token (the cases live in `tests/ui`).
#[proc_macro_attribute]
pub fn task(args: TokenStream, input: TokenStream) -> TokenStream {
    task_with(args.into(), input.into()).into()
}

/// Parse, validate, expand — or, on any error, the fallback.
fn task_with(args: TokenStream2, input: TokenStream2) -> TokenStream2 {
    let mut errors = ctxt::Errors::default();
    let parsed = match ast::task_fn(args, input.clone(), &mut errors) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            return fallback::unparsed(input, errors);
        }
    };
    valid::task(&parsed, &mut errors);
    match errors.finish() {
        Ok(()) => expand::task(&parsed),
        Err(e) => fallback::invalid(&parsed, e),
    }
}

/// Locks a task's runs (gokart's `RunWithLock`, Cloudtasker's unique jobs, JWQL's `only_one`).
///
/// It is read by `#[task]`, so it goes on a `#[task]` function, below `#[task]`. Used anywhere
/// else it is this error.
#[proc_macro_attribute]
pub fn run_with_lock(_args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let message = "#[run_with_lock] goes on a #[task] function, below the #[task] attribute";
    let error = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    quote::quote!(#error #input).into()
}

/// Declares the scheduler resources one run of a task consumes:
/// `#[resources(warehouse_db = 1, "{file}" = 1)]` (a name may be a template over parameters).
///
/// It is read by `#[task]`, so it goes on a `#[task]` function, below `#[task]`. Used anywhere
/// else it is this error.
#[proc_macro_attribute]
pub fn resources(_args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let message = "#[resources] goes on a #[task] function, below the #[task] attribute";
    let error = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    quote::quote!(#error #input).into()
}
