//! The model `#[task]` works on: the function and its attributes parsed into types that keep
//! the original syntax nodes for spans. Rules that involve several parts live in `valid`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parse;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, FnArg, Ident, ItemFn, Pat, ReturnType, Type};

use crate::attr::{self, ParamOptions, Resource, RunLockOptions, TaskOptions};
use crate::ctxt::Errors;
use crate::symbol::{PARAM_ATTR, REQUIRES_ATTR, RESOURCES_ATTR, RUN_WITH_LOCK_ATTR};

pub enum ArgKind {
    Param(ParamOptions),
    /// `#[requires(expr)]`: the argument receives the loaded output(s) of `expr`.
    Requires(Expr),
    /// `ctx: &RunContext`.
    Context,
    /// `out: &mut OutputFile` or `out: &mut OutputDir`: the task writes its output in place.
    Output(Staged),
    /// `tx: &mut PgTransaction` or `tx: &mut SqliteTransaction`: a table task's transaction,
    /// with the backend's name in `kart_core::db` (`Postgres`, `Sqlite`).
    Transaction(&'static str),
}

/// The output a task writes in place, as its argument names it.
#[derive(Clone, Copy)]
pub struct Staged {
    pub dir: bool,
    pub mutable: bool,
}

pub struct Arg {
    pub ident: Ident,
    pub ty: Type,
    pub kind: ArgKind,
    pub doc: String,
}

pub enum Returns {
    /// No return type.
    Unit,
    /// `Result<T>` or `Result<T, E>`: the output is `T`.
    Result(Type),
    /// Any other type, returned directly.
    Plain(Type),
}

pub struct TaskFn {
    /// The user's function with the argument attributes kart consumed removed.
    pub item: ItemFn,
    pub options: TaskOptions,
    pub run_lock: Option<RunLockOptions>,
    pub resources: Vec<Resource>,
    pub args: Vec<Arg>,
    pub doc: String,
    pub returns: Returns,
    /// The `;` of a function declared without a body (`fn raw(date: NaiveDate) -> Rows;`).
    pub bodyless: Option<Span>,
}

/// `fn name(args) -> T;`: how an external task is declared. Rust's parser accepts a free
/// function without a body until after macro expansion, so `#[task]` sees it.
struct BodylessFn {
    attrs: Vec<Attribute>,
    vis: syn::Visibility,
    sig: syn::Signature,
    semi: syn::Token![;],
}

impl Parse for BodylessFn {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        Ok(BodylessFn {
            attrs: input.call(Attribute::parse_outer)?,
            vis: input.parse()?,
            sig: input.parse()?,
            semi: input.parse()?,
        })
    }
}

/// Concatenated doc comments, one leading space per line removed.
pub fn doc_of(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if nv.path.is_ident("doc") {
                if let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
                {
                    let v = s.value();
                    lines.push(v.strip_prefix(' ').map(str::to_string).unwrap_or(v));
                }
            }
        }
    }
    lines.join("\n").trim().to_string()
}

/// `&mut PgTransaction`, `&mut kart_core::db::SqliteTransaction`, …: the backend.
fn transaction(ty: &Type) -> Option<&'static str> {
    let Type::Reference(r) = ty else {
        return None;
    };
    let Type::Path(p) = &*r.elem else {
        return None;
    };
    match p.path.segments.last()?.ident.to_string().as_str() {
        "PgTransaction" => Some("Postgres"),
        "SqliteTransaction" => Some("Sqlite"),
        _ => None,
    }
}

fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => {
            matches!(&*r.elem, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "RunContext"))
        }
        _ => false,
    }
}

/// `&mut OutputFile`, `&OutputDir`, …: an argument receiving the staged output.
fn staged(ty: &Type) -> Option<Staged> {
    let Type::Reference(r) = ty else {
        return None;
    };
    let Type::Path(p) = &*r.elem else {
        return None;
    };
    let last = p.path.segments.last()?;
    let dir = match last.ident.to_string().as_str() {
        "OutputFile" => false,
        "OutputDir" => true,
        _ => return None,
    };
    Some(Staged {
        dir,
        mutable: r.mutability.is_some(),
    })
}

fn returns(ret: &ReturnType) -> Returns {
    let ty = match ret {
        ReturnType::Default => return Returns::Unit,
        ReturnType::Type(_, ty) => ty,
    };
    if let Type::Path(p) = &**ty {
        if let Some(last) = p.path.segments.last() {
            if last.ident == "Result" {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(syn::GenericArgument::Type(ok)) = args.args.first() {
                        return Returns::Result(ok.clone());
                    }
                }
            }
        }
    }
    Returns::Plain((**ty).clone())
}

/// Describes the item for "not a function" errors and picks the tokens to point at.
fn non_function_span(item: &syn::Item) -> (TokenStream, &'static str) {
    use quote::ToTokens;
    use syn::Item;
    let pair = |a: &dyn ToTokens, b: &dyn ToTokens| {
        let mut ts = a.to_token_stream();
        ts.extend(b.to_token_stream());
        ts
    };
    match item {
        Item::Struct(s) => (pair(&s.struct_token, &s.ident), "a struct"),
        Item::Enum(e) => (pair(&e.enum_token, &e.ident), "an enum"),
        Item::Impl(i) => (i.impl_token.to_token_stream(), "an impl block"),
        Item::Mod(m) => (pair(&m.mod_token, &m.ident), "a module"),
        Item::Trait(t) => (pair(&t.trait_token, &t.ident), "a trait"),
        Item::Const(c) => (pair(&c.const_token, &c.ident), "a const"),
        Item::Static(s) => (pair(&s.static_token, &s.ident), "a static"),
        Item::Type(t) => (pair(&t.type_token, &t.ident), "a type alias"),
        other => (other.to_token_stream(), "this item"),
    }
}

/// Parses the function. `Err` only when the input is not a function at all.
pub fn task_fn(args: TokenStream, input: TokenStream, errors: &mut Errors) -> syn::Result<TaskFn> {
    let mut bodyless = None;
    let item = match syn::parse2::<syn::Item>(input.clone()) {
        Ok(syn::Item::Fn(f)) => Ok(f),
        parsed => match syn::parse2::<BodylessFn>(input) {
            Ok(f) => {
                bodyless = Some(f.semi.span);
                Ok(ItemFn {
                    attrs: f.attrs,
                    vis: f.vis,
                    sig: f.sig,
                    block: Box::new(syn::parse_quote!({ ::core::unreachable!() })),
                })
            }
            Err(_) => parsed.map(Err)?,
        },
    };
    let mut item = match item {
        Ok(f) => f,
        Err(other) => {
            let (tokens, what) = non_function_span(&other);
            return Err(syn::Error::new_spanned(
                tokens,
                format!("#[task] can only be used on functions, not on {what}; write `#[task] fn name(param: Type, ...) -> Result<Output>`"),
            ));
        }
    };
    let options = attr::task_options(args, errors);
    let mut run_lock = None;
    let mut resources = Vec::new();
    let mut kept = Vec::new();
    for attr in item.attrs.drain(..) {
        if attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == RESOURCES_ATTR)
        {
            attr::resources_options(&attr, &mut resources, errors);
        } else if attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == RUN_WITH_LOCK_ATTR)
        {
            if run_lock.is_some() {
                errors.error_spanned_by(&attr, "duplicate #[run_with_lock] attribute");
            }
            run_lock = Some(attr::run_lock_options(&attr, errors));
        } else {
            kept.push(attr);
        }
    }
    item.attrs = kept;

    if let Some(asyncness) = &item.sig.asyncness {
        errors.error_spanned_by(
            asyncness,
            "task functions cannot be async: workers run each task on its own thread",
        );
    }
    if !item.sig.generics.params.is_empty() {
        errors.error_spanned_by(
            &item.sig.generics,
            "task functions cannot be generic: every parameter needs one concrete type",
        );
    }

    let mut args = Vec::new();
    for input in &mut item.sig.inputs {
        let pat_type = match input {
            FnArg::Receiver(r) => {
                errors.error_spanned_by(&*r, "task functions cannot take `self`");
                continue;
            }
            FnArg::Typed(t) => t,
        };
        let ident = match &*pat_type.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
            other => {
                errors.error_spanned_by(
                    other,
                    "task arguments must be plain names like `date: NaiveDate`",
                );
                continue;
            }
        };
        let mut param_opts = None;
        let mut requires = None;
        let doc = doc_of(&pat_type.attrs);
        let mut kept = Vec::new();
        for attr in pat_type.attrs.drain(..) {
            if attr.path().is_ident(PARAM_ATTR) {
                if param_opts.is_some() {
                    errors.error_spanned_by(&attr, "duplicate #[param] attribute");
                }
                param_opts = Some((attr::param_options(&attr, errors), attr.path().span()));
            } else if attr.path().is_ident(REQUIRES_ATTR) {
                match attr.parse_args::<Expr>() {
                    Ok(expr) if requires.is_none() => requires = Some((expr, attr.path().span())),
                    Ok(_) => errors.error_spanned_by(&attr, "duplicate #[requires] attribute"),
                    Err(e) => errors.push(syn::Error::new(
                        e.span(),
                        format!(
                            "#[requires(...)] takes an expression naming the required task(s): {e}"
                        ),
                    )),
                }
            } else if attr.path().is_ident("doc") {
                // Kept in the registry; dropped from the signature (docs on arguments are not allowed there).
            } else {
                kept.push(attr);
            }
        }
        pat_type.attrs = kept;
        let ty = (*pat_type.ty).clone();
        let kind = match (param_opts, requires) {
            (Some((_, span)), Some(_)) => {
                errors.push(syn::Error::new(span, "an argument is either a parameter or a requirement: drop #[param] or #[requires]"));
                continue;
            }
            (None, Some((expr, _))) => ArgKind::Requires(expr),
            (Some((opts, _)), None) => ArgKind::Param(opts),
            (None, None) if is_context(&ty) => ArgKind::Context,
            (None, None) if staged(&ty).is_some() => ArgKind::Output(staged(&ty).expect("checked")),
            (None, None) if transaction(&ty).is_some() => {
                ArgKind::Transaction(transaction(&ty).expect("checked"))
            }
            (None, None) => ArgKind::Param(ParamOptions {
                default: None,
                significant: true,
                significant_span: None,
                batch: None,
            }),
        };
        args.push(Arg {
            ident,
            ty,
            kind,
            doc,
        });
    }

    Ok(TaskFn {
        doc: doc_of(&item.attrs),
        returns: returns(&item.sig.output),
        item,
        options,
        run_lock,
        resources,
        args,
        bodyless,
    })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(args: TokenStream, item: TokenStream) -> (TaskFn, Vec<String>) {
        let mut errors = Errors::default();
        let t = task_fn(args, item, &mut errors).expect("a function");
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (t, messages)
    }

    #[test]
    fn arguments_are_parameters_requirements_or_the_context() {
        let (t, errors) = parse(
            quote!(output = "a/{date}.json"),
            quote! {
                /// Does things.
                fn a(
                    /// The day.
                    date: NaiveDate,
                    #[param(default = 3, significant = false)] n: u32,
                    #[requires(B { date })] b: u64,
                    ctx: &kart_core::RunContext,
                ) -> kart_core::Result<Vec<u8>> { todo!() }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(t.doc, "Does things.");
        assert_eq!(t.args.len(), 4);
        assert_eq!(t.args[0].doc, "The day.");
        assert!(
            matches!(&t.args[1].kind, ArgKind::Param(o) if o.default.is_some() && !o.significant)
        );
        assert!(matches!(t.args[2].kind, ArgKind::Requires(_)));
        assert!(matches!(t.args[3].kind, ArgKind::Context));
        assert!(
            matches!(&t.returns, Returns::Result(ty) if quote!(#ty).to_string() == "Vec < u8 >")
        );
        assert!(
            t.item.sig.inputs.iter().all(|i| match i {
                FnArg::Typed(p) => p.attrs.is_empty(),
                FnArg::Receiver(_) => false,
            }),
            "kart's argument attributes are consumed"
        );
    }

    #[test]
    fn a_declaration_without_a_body_is_kept_for_external_tasks() {
        let (t, errors) = parse(
            quote!(external),
            quote!(
                fn raw(date: NaiveDate) -> Rows;
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(t.bodyless.is_some() && t.options.external.is_some());
    }

    #[test]
    fn every_mistake_in_the_attributes_is_collected_in_one_pass() {
        let (t, errors) = parse(
            quote!(
                outptu = "x",
                format = "yaml",
                wrapper,
                wrapper,
                timeout = "soon"
            ),
            quote! {
                #[run_with_lock(lock = until_lunch, ttl = "10s")]
                fn a(#[param(defualt = 1)] n: u32) {}
            },
        );
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(errors[0].starts_with("unknown task option `outptu`"));
        assert!(errors[1].starts_with("unknown format `yaml`"));
        assert_eq!(errors[2], "duplicate option `wrapper`");
        assert!(errors[3].starts_with("invalid duration \"soon\""));
        assert!(errors
            .iter()
            .any(|e| e.starts_with("unknown lock phase `until_lunch`")));
        // Parsing went on past each mistake.
        assert_eq!(t.run_lock.as_ref().and_then(|l| l.ttl_ms), Some(10_000));
    }

    #[test]
    fn durations_take_the_runtimes_grammar() {
        let (t, errors) = parse(
            quote!(timeout = "1h30min"),
            quote!(
                fn a() {}
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(t.options.timeout_ms, Some(90 * 60 * 1000));
    }
}
