//! What `#[task]` emits when the input has errors: the errors, the user's function, and — so
//! one mistake is one error, not a cascade of "cannot find struct" wherever the task is
//! required — its parameter struct with a stub `TaskDef` that is never run.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, Type};

use crate::ast::{ArgKind, TaskFn};
use crate::ctxt::Errors;
use crate::expand::{family, output_ty, private, struct_name, user_fn};

/// The input was not a function at all: the input as it was, and the errors.
pub(crate) fn unparsed(input: TokenStream, errors: Errors) -> TokenStream {
    let err = errors.finish().err().map(|e| e.to_compile_error());
    quote!(#input #err)
}

/// The function parsed but breaks a rule: the errors, the function (minus kart's argument
/// attributes), and the parameter struct with a stub `TaskDef`.
pub(crate) fn invalid(t: &TaskFn, error: syn::Error) -> TokenStream {
    let item = user_fn(t);
    let err = error.to_compile_error();
    let stub = stub(t);
    quote!(#item #stub #err)
}

/// The struct and a `TaskDef` whose methods are unreachable: enough for other tasks to name
/// and require it. Nothing registers it, so it can never run.
fn stub(t: &TaskFn) -> TokenStream {
    let family = family(t);
    // A bad `name = "..."` is the error itself; there is no struct to name.
    let Ok(name) = syn::parse_str::<Ident>(&struct_name(t)) else {
        return quote!();
    };
    let p = private();
    let vis = &t.item.vis;
    let doc = crate::expand::struct_doc(t, &family);
    // Fields whose type can never be a parameter are the error; leaving them out keeps the
    // struct itself free of errors.
    let fields = t.args.iter().filter_map(|a| match (&a.kind, &a.ty) {
        (ArgKind::Param(_), Type::Path(path)) if path.qself.is_none() => {
            let (ident, ty) = (&a.ident, &a.ty);
            Some(quote!(#vis #ident: #ty))
        }
        _ => None,
    });
    let output = output_ty(t);
    // Valid for any output type, so a task with errors adds none about its output.
    let kind = quote!(#p::output::Failed);
    let unreachable = quote!(::core::unreachable!("{} did not compile", #family));
    quote! {
        #[doc = #doc]
        #vis struct #name {
            #(#fields,)*
        }

        const _: () = {
            #[automatically_derived]
            impl ::core::clone::Clone for #name {
                fn clone(&self) -> Self { #unreachable }
            }

            #[automatically_derived]
            impl ::core::fmt::Debug for #name {
                fn fmt(&self, _: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result { #unreachable }
            }

            #[automatically_derived]
            impl #p::TaskDef for #name {
                type Output = #output;
                type Kind = #kind;
                const SPEC: &'static #p::TaskSpec = &#p::TaskSpec {
                    family: #family,
                    wrapper: false,
                    output: ::core::option::Option::None,
                    output_kind: <#kind as #p::output::Kind<#output>>::OUTPUT,
                    suffix: "",
                    run_lock: ::core::option::Option::None,
                    timeout_ms: ::core::option::Option::None,
                    intermediate: false,
                    external: false,
                    accepts_messages: false,
                    max_batch_size: ::core::option::Option::None,
                    own_completeness: false,
                };
                fn significant_params(&self) -> #p::ParamList { #unreachable }
                fn all_params(&self) -> #p::ParamList { #unreachable }
                fn write_output(&self, _: &mut ::std::string::String) -> ::core::option::Option<::core::result::Result<(), ::std::string::String>> { #unreachable }
                fn requires(&self) -> ::std::vec::Vec<#p::AnyTask> { #unreachable }
                fn run(&self, _: &#p::RunContext<'_>) -> #p::Result<#p::output::Made<Self>> { #unreachable }
            }
        };
    }
}
