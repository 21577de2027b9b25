//! The family's static facts: `TaskDef::SPEC`, with its run lock.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;
use crate::attr::{Conflict, Phase, RunLockOptions};

fn some_or_none<T: quote::ToTokens>(value: Option<T>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// `&TaskSpec { family, wrapper, output, output_kind, ... }`.
pub(crate) fn task_spec(g: &Gen) -> TokenStream {
    let (p, o) = (&g.p, &g.t.options);
    let family = &g.family;
    let wrapper = o.wrapper.is_some();
    let output = some_or_none(o.output.as_ref());
    let kind =
        quote!(<<Self as #p::TaskDef>::Kind as #p::output::Kind<<Self as #p::TaskDef>::Output>>);
    let run_lock = match &g.t.run_lock {
        Some(lock) => run_lock(g, lock),
        None => quote!(::core::option::Option::None),
    };
    let timeout_ms = some_or_none(o.timeout_ms);
    let intermediate = o.intermediate.is_some();
    let external = o.external.is_some();
    let accepts_messages = o.accepts_messages.is_some();
    let max_batch_size = some_or_none(o.max_batch_size.map(|(n, _)| n));
    let own_completeness = o.complete.is_some() || o.bulk_complete.is_some() || o.table.is_some();
    quote! {
        &#p::TaskSpec {
            family: #family,
            wrapper: #wrapper,
            output: #output,
            output_kind: #kind::OUTPUT,
            suffix: #kind::SUFFIX,
            run_lock: #run_lock,
            timeout_ms: #timeout_ms,
            intermediate: #intermediate,
            external: #external,
            accepts_messages: #accepts_messages,
            max_batch_size: #max_batch_size,
            own_completeness: #own_completeness,
        }
    }
}

/// `Some(RunLock { ... })` for `#[run_with_lock(...)]`.
fn run_lock(g: &Gen, l: &RunLockOptions) -> TokenStream {
    let p = &g.p;
    let key = some_or_none(l.key.as_ref());
    let (ttl, timeout) = (some_or_none(l.ttl_ms), some_or_none(l.timeout_ms));
    let unique = match l.phase {
        None => quote!(::core::option::Option::None),
        Some((phase, _)) => {
            let phase = match phase {
                Phase::UntilExecuting => quote!(UntilExecuting),
                Phase::WhileExecuting => quote!(WhileExecuting),
                Phase::UntilExecuted => quote!(UntilExecuted),
            };
            let conflict = match l.on_conflict.map(|c| c.0).unwrap_or(Conflict::Reject) {
                Conflict::Reject => quote!(Reject),
                Conflict::Raise => quote!(Raise),
                Conflict::Reschedule => quote!(Reschedule),
            };
            quote!(::core::option::Option::Some((#p::UniquePhase::#phase, #p::OnConflict::#conflict)))
        }
    };
    let unique_args = some_or_none(l.unique_args.as_ref().map(|names| {
        let names = names.iter().map(|n| n.to_string());
        quote!(&[#(#names),*])
    }));
    quote! {
        ::core::option::Option::Some(#p::RunLock {
            key: #key,
            ttl_ms: #ttl,
            timeout_ms: #timeout,
            unique: #unique,
            unique_args: #unique_args,
        })
    }
}
