//! The registry entry: the parameter schema the command line and config are checked
//! against, and the constructor from raw values.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;

/// `inventory::submit!` of the family's `TaskEntry`, with its constructor.
pub(crate) fn registry_entry(g: &Gen) -> TokenStream {
    let (p, name) = (&g.p, &g.struct_name);
    let doc = &g.t.doc;
    let specs = g.params.iter().map(|f| {
        let (name, ty, doc, significant) = (&f.name, f.ty, f.doc, f.significant);
        let ops = g.ops(f);
        let default = match f.default {
            Some(expr) => quote! {
                ::core::option::Option::Some(|| {
                    let __v: #ty = #expr;
                    (#ops.to_param_string)(&__v)
                })
            },
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #p::ParamSpec {
                name: #name,
                doc: #doc,
                type_name: #ops.type_name,
                kind: #ops.kind,
                default: #default,
                significant: #significant,
            }
        }
    });
    let construct_fields = g.params.iter().map(|f| {
        let (ident, ty, name) = (f.ident, f.ty, &f.name);
        let ops = g.ops(f);
        let fallback = match f.default {
            Some(expr) => quote!({ let __v: #ty = #expr; __v }),
            None => quote!(return ::core::result::Result::Err(__src.missing(#name, #ops))),
        };
        quote! {
            #ident: match __src.value_with(#name, #ops)? {
                ::core::option::Option::Some(__v) => __v,
                ::core::option::Option::None => #fallback,
            }
        }
    });
    quote! {
        fn __construct(__src: &#p::ParamSource<'_>) -> #p::Result<#p::AnyTask> {
            ::core::result::Result::Ok(#p::AnyTask::from(#name {
                #(#construct_fields,)*
            }))
        }

        #p::inventory::submit! {
            #p::TaskEntry {
                spec: <#name as #p::TaskDef>::SPEC,
                doc: #doc,
                params: &[#(#specs),*],
                location: ::core::concat!(::core::file!(), ":", ::core::line!()),
                construct: __construct,
            }
        }
    }
}
