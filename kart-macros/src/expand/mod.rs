//! Code generation. Runs only on a validated model, so it cannot fail. Everything generated
//! names the runtime through `::kart_core::__private`, never through the user's imports, and
//! every generated impl is `#[automatically_derived]`.
//!
//! The parts: the parameter struct and its standard impls ([`params`]), `TaskDef`'s static
//! facts ([`spec`]), its requirements, run and batching ([`body`]), path and resource-name
//! templates ([`template`]) and the registry entry ([`entry`]).

mod body;
mod entry;
mod params;
mod spec;
mod template;

pub(crate) use params::struct_doc;

use heck::ToUpperCamelCase;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use crate::ast::{Arg, ArgKind, Returns, TaskFn};
use crate::attr::BatchMethod;

/// One parameter of the task, as generation sees it.
pub(crate) struct Param<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// Its name in ids, flags and templates (`r#type` is `type`).
    pub(crate) name: String,
    pub(crate) doc: &'a str,
    pub(crate) default: Option<&'a syn::Expr>,
    pub(crate) significant: bool,
    pub(crate) batch: Option<&'a BatchMethod>,
}

/// What every part of the generated code shares.
pub(crate) struct Gen<'a> {
    pub(crate) t: &'a TaskFn,
    /// `::kart_core::__private`.
    pub(crate) p: TokenStream,
    /// The family name (`DailySales`), also the struct's.
    pub(crate) family: String,
    pub(crate) struct_name: Ident,
    pub(crate) params: Vec<Param<'a>>,
}

/// `::kart_core::__private`, the one path generated code reaches the runtime through.
pub(crate) fn private() -> TokenStream {
    quote!(::kart_core::__private)
}

/// The family name: the struct's name, after `namespace.` when the task has one.
pub(crate) fn family(t: &TaskFn) -> String {
    match &t.options.namespace {
        Some(ns) => format!("{}.{}", ns.value(), struct_name(t)),
        None => struct_name(t),
    }
}

/// The struct's name: `name = "..."`, else the function's name in upper camel case.
pub(crate) fn struct_name(t: &TaskFn) -> String {
    match &t.options.name {
        Some(lit) => lit.value(),
        None => t
            .item
            .sig
            .ident
            .to_string()
            .trim_start_matches("r#")
            .to_upper_camel_case(),
    }
}

impl<'a> Gen<'a> {
    fn new(t: &'a TaskFn) -> Self {
        let family = family(t);
        let span = t
            .options
            .name
            .as_ref()
            .map_or(t.item.sig.ident.span(), |l| l.span());
        Gen {
            t,
            p: private(),
            struct_name: Ident::new(&struct_name(t), span),
            family,
            params: t.args.iter().filter_map(param).collect(),
        }
    }

    /// Every parameter operation goes through `ops::<T>()`, spanned on the argument's type,
    /// so a type that is not a `Param` yields one error there (identical errors are merged).
    pub(crate) fn ops(&self, f: &Param) -> TokenStream {
        let (p, ty) = (&self.p, f.ty);
        quote_spanned!(ty.span()=> #p::ops::<#ty>())
    }

    /// The parameter's canonical JSON, from `self`.
    pub(crate) fn to_json(&self, f: &Param) -> TokenStream {
        let ident = f.ident;
        let ops = self.ops(f);
        quote!((#ops.to_json)(&self.#ident))
    }

    /// `(name, canonical JSON)` of each parameter `keep` selects.
    pub(crate) fn param_list(&self, keep: impl Fn(&Param) -> bool) -> Vec<TokenStream> {
        self.params
            .iter()
            .filter(|f| keep(f))
            .map(|f| {
                let name = &f.name;
                let value = self.to_json(f);
                quote!((#name, #value))
            })
            .collect()
    }

    /// The value the task's output holds.
    pub(crate) fn output_ty(&self) -> TokenStream {
        output_ty(self.t)
    }
}

/// What dependents receive: `T` of `Result<T>`, or the return type; `()` for wrappers; the
/// path of a file or directory output.
pub(crate) fn output_ty(t: &TaskFn) -> TokenStream {
    if staged(t).is_some() {
        return quote!(::std::path::PathBuf);
    }
    match (&t.returns, t.options.wrapper.is_some()) {
        (_, true) | (Returns::Unit, _) => quote!(()),
        (Returns::Result(ty), _) | (Returns::Plain(ty), _) => quote!(#ty),
    }
}

/// The argument a file or directory task writes its output through, if it has one.
pub(crate) fn staged(t: &TaskFn) -> Option<crate::ast::Staged> {
    t.args.iter().find_map(|a| match a.kind {
        ArgKind::Output(s) => Some(s),
        _ => None,
    })
}

/// `TaskDef::Kind`: a file, a directory, or a value in its format. A user's format type is
/// named with its own span, so a type that is no format for the output is reported there.
pub(crate) fn kind_ty(t: &TaskFn) -> TokenStream {
    let p = private();
    if t.options.table.is_some() {
        return quote!(#p::db::Table);
    }
    match staged(t) {
        Some(s) if s.dir => return quote!(#p::output::Dir),
        Some(_) => return quote!(#p::output::File),
        None => {}
    }
    let format = match t.options.format.as_ref().map(|(f, _)| f) {
        Some(crate::attr::Format::Path(path)) => {
            return quote_spanned!(path.span()=> ::kart_core::__private::output::Value<#path>)
        }
        Some(crate::attr::Format::Named(name)) => {
            let ident = Ident::new(name, proc_macro2::Span::call_site());
            quote!(#p::format::#ident)
        }
        None => quote!(#p::format::Json),
    };
    quote!(#p::output::Value<#format>)
}

fn param(a: &Arg) -> Option<Param<'_>> {
    match &a.kind {
        ArgKind::Param(opts) => Some(Param {
            ident: &a.ident,
            ty: &a.ty,
            name: a.ident.to_string().trim_start_matches("r#").to_string(),
            doc: &a.doc,
            default: opts.default.as_ref(),
            significant: opts.significant,
            batch: opts.batch.as_ref(),
        }),
        _ => None,
    }
}

/// The user's function as emitted. Parameters shape the id and path even when the body
/// ignores them (e.g. one only used in `#[requires]`), so they are marked used.
pub(crate) fn user_fn(t: &TaskFn) -> syn::ItemFn {
    let mut item = t.item.clone();
    // A declaration without a body (only emitted alongside errors) uses none of its arguments.
    let touch = t
        .args
        .iter()
        .filter(|a| t.bodyless.is_some() || matches!(a.kind, ArgKind::Param(_)))
        .map(|a| &a.ident);
    item.block
        .stmts
        .insert(0, syn::parse_quote!(let _ = (#(&#touch,)*);));
    item
}

/// Everything `#[task]` generates for a valid task.
pub(crate) fn task(t: &TaskFn) -> TokenStream {
    let g = Gen::new(t);
    // An external task's declaration has no body to emit.
    let item = match t.options.external {
        Some(_) => quote!(),
        None => {
            let item = user_fn(t);
            quote!(#item)
        }
    };
    let strukt = params::parameter_struct(&g);
    let impls = params::impls(&g);
    let task_def = body::task_def(&g);
    let entry = entry::registry_entry(&g);
    quote! {
        #item

        #strukt

        const _: () = {
            #impls

            #task_def

            #entry
        };
    }
}

#[cfg(test)]
mod tests;
