//! `impl TaskDef`: parameters, output path, requirements, resources, batching and the run
//! that loads the inputs and calls the user's function.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{spec, template, Gen};
use crate::ast::{Arg, ArgKind, Returns};
use crate::attr::{BatchMethod, ResourceName};

/// The whole `impl TaskDef for Family`.
pub(crate) fn task_def(g: &Gen) -> TokenStream {
    let (p, name) = (&g.p, &g.struct_name);
    let output_ty = g.output_ty();
    let spec = spec::task_spec(g);
    let significant = g.param_list(|f| f.significant);
    let all = g.param_list(|_| true);
    let write_output = match &g.t.options.output {
        Some(lit) => {
            let write = template::write(g, lit);
            quote!(::core::option::Option::Some(#write))
        }
        None => quote!(::core::option::Option::None),
    };
    let resources = g.t.resources.iter().map(|r| {
        let amount = r.amount;
        match &r.name {
            ResourceName::Fixed(ident) => {
                let name = ident.to_string();
                quote!((::std::string::String::from(#name), #amount))
            }
            ResourceName::Template(lit) => {
                let name = template::fill(g, lit);
                quote!((#name.unwrap_or_else(|e| e), #amount))
            }
        }
    });
    let (requires_body, run_body) = bodies(g);
    let batch_fns = batch_fns(g);
    let priority = g.t.options.priority.as_ref().map(|expr| {
        let bind = bind_params(g);
        let value = quote_spanned!(expr.span()=> ::core::convert::Into::<i64>::into(#expr));
        quote! {
            fn priority(&self) -> i64 {
                #(#bind)*
                #value
            }
        }
    });
    let completeness = completeness_fns(g);
    let kind = super::kind_ty(g.t);
    // Named, not projected through `Kind`: a format that cannot store the output is then
    // reported once, at the format.
    let made = match super::staged(g.t) {
        Some(s) if s.dir => quote!(#p::OutputDir),
        Some(_) => quote!(#p::OutputFile),
        None => output_ty.clone(),
    };
    quote! {
        #[automatically_derived]
        impl #p::TaskDef for #name {
            type Output = #output_ty;

            type Kind = #kind;

            const SPEC: &'static #p::TaskSpec = #spec;

            fn significant_params(&self) -> #p::ParamList {
                ::std::vec![#(#significant),*]
            }

            fn all_params(&self) -> #p::ParamList {
                ::std::vec![#(#all),*]
            }

            fn write_output(&self, __out: &mut ::std::string::String) -> ::core::option::Option<::core::result::Result<(), ::std::string::String>> {
                #write_output
            }

            fn requires(&self) -> ::std::vec::Vec<#p::AnyTask> {
                #requires_body
            }

            fn resources(&self) -> ::std::vec::Vec<(::std::string::String, u32)> {
                ::std::vec![#(#resources),*]
            }

            #batch_fns

            #priority

            #completeness

            #[allow(unused_variables, clippy::let_unit_value)]
            fn run(&self, __ctx: &#p::RunContext<'_>) -> #p::Result<#made> {
                #run_body
            }
        }
    }
}

/// `complete` and `bulk_complete` calling the user's functions. Each is first coerced to the
/// signature kart expects, at the attribute's path: a function of another shape is reported
/// there.
fn completeness_fns(g: &Gen) -> TokenStream {
    let p = &g.p;
    if let (Some(db), Some(_)) = (&g.t.options.db, &g.t.options.table) {
        let backend = transaction_backend(g.t);
        let tx_ty = syn::Ident::new(
            match backend.to_string().as_str() {
                "Sqlite" => "SqliteTransaction",
                _ => "PgTransaction",
            },
            proc_macro2::Span::call_site(),
        );
        // `on_invalidate`: coerced at the attribute to the hook's signature, then run in the
        // marker's deleting transaction.
        let hook = match &g.t.options.on_invalidate {
            Some(f) => {
                let check = quote_spanned! {f.span()=>
                    let __hook: fn(&Self, &mut #p::db::#tx_ty<'_>) -> #p::TaskResult<()> = #f;
                };
                quote! {
                    #check
                    let mut __rows = |__tx: &mut #p::db::#tx_ty<'_>| __hook(self, __tx).map_err(#p::Error::Task);
                    let __rows: ::core::option::Option<#p::db::InTransaction<'_, #p::db::#backend>> = ::core::option::Option::Some(&mut __rows);
                }
            }
            None => quote! {
                let __rows: ::core::option::Option<#p::db::InTransaction<'_, #p::db::#backend>> = ::core::option::Option::None;
            },
        };
        let forget = quote! {
            fn forget(&self) -> ::core::option::Option<#p::TaskResult<()>> {
                #hook
                ::core::option::Option::Some(#p::db::forget::<#p::db::#backend>(#db, self, __rows))
            }
        };
        return quote! {
            fn complete(&self, __ws: &#p::Workspace) -> ::core::option::Option<#p::TaskResult<bool>> {
                ::core::option::Option::Some(#p::db::is_recorded::<#p::db::#backend>(#db, self))
            }
            fn bulk_complete(
                __candidates: &[Self],
                __ws: &#p::Workspace,
            ) -> ::core::option::Option<#p::TaskResult<::std::vec::Vec<Self>>> {
                ::core::option::Option::Some(#p::db::recorded_among::<#p::db::#backend, Self>(#db, __candidates))
            }
            #forget
        };
    }
    let complete = g.t.options.complete.as_ref().map(|f| {
        let check = quote_spanned! {f.span()=>
            let __rule: fn(&Self, &#p::Workspace) -> #p::TaskResult<bool> = #f;
        };
        quote! {
            fn complete(&self, __ws: &#p::Workspace) -> ::core::option::Option<#p::TaskResult<bool>> {
                #check
                ::core::option::Option::Some(__rule(self, __ws))
            }
        }
    });
    let bulk = g.t.options.bulk_complete.as_ref().map(|f| {
        let check = quote_spanned! {f.span()=>
            let __rule: fn(&[Self], &#p::Workspace) -> #p::TaskResult<::std::vec::Vec<Self>> = #f;
        };
        quote! {
            fn bulk_complete(
                __candidates: &[Self],
                __ws: &#p::Workspace,
            ) -> ::core::option::Option<#p::TaskResult<::std::vec::Vec<Self>>> {
                #check
                ::core::option::Option::Some(__rule(__candidates, __ws))
            }
        }
    });
    quote!(#complete #bulk)
}

/// The backend type of a table task's transaction argument (`Postgres`; `Postgres` when the
/// argument is missing, which validation reports).
fn transaction_backend(t: &crate::ast::TaskFn) -> syn::Ident {
    let name = t
        .args
        .iter()
        .find_map(|a| match a.kind {
            ArgKind::Transaction(backend) => Some(backend),
            _ => None,
        })
        .unwrap_or("Postgres");
    syn::Ident::new(name, proc_macro2::Span::call_site())
}

/// Parameters bound as locals, so `#[requires(...)]` and `priority` expressions and the call
/// can name them.
fn bind_params(g: &Gen) -> Vec<TokenStream> {
    g.params
        .iter()
        .map(|f| {
            let ident = f.ident;
            let ops = g.ops(f);
            quote!(#[allow(unused_variables)] let #ident = (#ops.clone)(&self.#ident);)
        })
        .collect()
}

/// The bodies of `requires` and `run`, by kind of task.
fn bodies(g: &Gen) -> (TokenStream, TokenStream) {
    let (p, t, family) = (&g.p, g.t, &g.family);
    let bind_params = bind_params(g);
    let fn_name = &t.item.sig.ident;
    let call_args = t.args.iter().map(|a| match &a.kind {
        ArgKind::Context => quote!(__ctx),
        ArgKind::Output(s) if s.mutable => quote!(&mut __staged),
        ArgKind::Output(_) => quote!(&__staged),
        ArgKind::Transaction(_) => quote!(__tx),
        _ => {
            let ident = &a.ident;
            quote!(#ident)
        }
    });
    let call = quote!(#fn_name(#(#call_args),*));

    if t.options.external.is_some() {
        return (
            quote!(::std::vec::Vec::new()),
            quote! {
                ::core::result::Result::Err(#p::Error::msg(::std::format!(
                    "{} is external data: kart never runs it",
                    #family
                )))
            },
        );
    }
    if t.options.wrapper.is_some() {
        return (
            quote! {
                #(#bind_params)*
                ::core::iter::Iterator::collect(::core::iter::Iterator::map(::core::iter::IntoIterator::into_iter(#call), #p::AnyTask::from))
            },
            quote!(::core::result::Result::Ok(())),
        );
    }
    let requirements: Vec<(&Arg, &syn::Expr)> = t
        .args
        .iter()
        .filter_map(|a| match &a.kind {
            ArgKind::Requires(e) => Some((a, e)),
            _ => None,
        })
        .collect();
    let collects = requirements.iter().map(
        |(_, expr)| quote!(#p::Requirement::collect_into(&{ #(#bind_params)* #expr }, &mut __out);),
    );
    let loads = requirements.iter().map(|(a, expr)| {
        let (ident, ty) = (&a.ident, &a.ty);
        // A type mismatch is reported at the argument's type: "expected `String`, found `u64`".
        let loaded = quote_spanned!(ty.span()=> __loaded);
        quote! {
            let __loaded = #p::Requirement::load(&{ #(#bind_params)* #expr }, __ctx)?;
            let #ident: #ty = #loaded;
        }
    });
    // A type that is no error is reported at the function's return type.
    let into_error = quote_spanned!(t.item.sig.output.span()=> ::kart_core::__private::into_error);
    let finish = match (&t.returns, super::staged(t).is_some()) {
        // A table task: the call writes rows in kart's transaction, which then records the
        // marker and commits.
        (returns, _) if t.options.table.is_some() => {
            let (table, db) = (&t.options.table, &t.options.db);
            let backend = transaction_backend(t);
            let result = match returns {
                Returns::Result(_) => quote!(#call.map_err(#into_error)),
                _ => quote!({ #call; ::core::result::Result::Ok(()) }),
            };
            quote! {
                #p::db::in_transaction::<#p::db::#backend, Self>(self, __ctx, #db, #table, &mut |__tx| #result)
            }
        }
        // The task wrote its output in place: that staged file or directory is what it made.
        (Returns::Result(_), true) => quote! {
            let mut __staged = #p::output::stage(self, __ctx)?;
            #call.map_err(#into_error)?;
            ::core::result::Result::Ok(__staged)
        },
        (Returns::Plain(_) | Returns::Unit, true) => quote! {
            let mut __staged = #p::output::stage(self, __ctx)?;
            #call;
            ::core::result::Result::Ok(__staged)
        },
        (Returns::Result(_), false) => quote!(#call.map_err(#into_error)),
        (Returns::Plain(_) | Returns::Unit, false) => quote!(::core::result::Result::Ok(#call)),
    };
    (
        quote! {
            let mut __out = ::std::vec::Vec::new();
            #(#collects)*
            __out
        },
        quote! {
            #(#loads)*
            #(#bind_params)*
            #finish
        },
    )
}

/// Batching: ready tasks equal in every other parameter run as one, the batch parameters
/// combined by their methods.
fn batch_fns(g: &Gen) -> TokenStream {
    if g.params.iter().all(|f| f.batch.is_none()) {
        return quote!();
    }
    let (p, name) = (&g.p, &g.struct_name);
    let key_parts = g.param_list(|f| f.batch.is_none());
    // `batchable = expr`: an instance for which it is false runs alone.
    let batchable = g.t.options.batchable.as_ref().map(|expr| {
        let bind = bind_params(g);
        let value = quote_spanned!(expr.span()=> { let __b: bool = #expr; __b });
        quote! {
            #(#bind)*
            if !#value {
                return ::core::option::Option::None;
            }
        }
    });
    let fields = g.params.iter().map(|f| {
        let (ident, ty) = (f.ident, f.ty);
        let ops = g.ops(f);
        let Some(method) = f.batch else {
            return quote!(#ident: (#ops.clone)(&__items[0].#ident));
        };
        let combined = match method {
            BatchMethod::Max(_) => quote_spanned!(ty.span()=>
                ::core::iter::Iterator::max(::core::iter::IntoIterator::into_iter(__values)).expect("a batch is never empty")),
            BatchMethod::Min(_) => quote_spanned!(ty.span()=>
                ::core::iter::Iterator::min(::core::iter::IntoIterator::into_iter(__values)).expect("a batch is never empty")),
            BatchMethod::List(_) => quote!(__values.join(",")),
            BatchMethod::Custom(path) => quote_spanned!(path.span()=> #path(::std::vec::Vec::as_slice(&__values))),
        };
        quote! {
            #ident: {
                let __values: ::std::vec::Vec<#ty> = __items.iter().map(|__t| (#ops.clone)(&__t.#ident)).collect();
                #combined
            }
        }
    });
    quote! {
        fn batch_key(&self) -> ::core::option::Option<::std::string::String> {
            #batchable
            ::core::option::Option::Some(#p::canonical_json(&[#(#key_parts),*]))
        }

        fn batch(__items: &[&Self]) -> Self {
            #name { #(#fields,)* }
        }
    }
}
