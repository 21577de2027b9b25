//! Parsing: the attribute arguments and the function into a typed model that keeps the
//! original syntax nodes for spans. Rules that involve several parts live in `validate`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Type};

use crate::ctxt::Errors;

/// Option keywords of `#[task(...)]`.
pub const NAME: &str = "name";
pub const OUTPUT: &str = "output";
pub const WRAPPER: &str = "wrapper";
pub const FORMAT: &str = "format";
const TASK_OPTIONS: &[&str] = &[NAME, OUTPUT, WRAPPER, FORMAT];

/// Option keywords of `#[param(...)]` on an argument.
pub const DEFAULT: &str = "default";
pub const SIGNIFICANT: &str = "significant";
const PARAM_OPTIONS: &[&str] = &[DEFAULT, SIGNIFICANT];

/// Argument attributes `#[task]` consumes.
pub const PARAM_ATTR: &str = "param";
pub const REQUIRES_ATTR: &str = "requires";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    MessagePack,
}

#[derive(Default)]
pub struct TaskOptions {
    pub name: Option<LitStr>,
    pub output: Option<LitStr>,
    pub wrapper: Option<Span>,
    pub format: Option<(Format, Span)>,
}

pub struct ParamOptions {
    /// `default = expr`, or `default` alone (meaning `Default::default()`).
    pub default: Option<Expr>,
    /// `significant = false` excludes the parameter from the id and path.
    pub significant: bool,
    pub significant_span: Option<Span>,
}

pub enum ArgKind {
    Param(ParamOptions),
    /// `#[requires(expr)]`: the argument receives the loaded output(s) of `expr`.
    Requires(Expr),
    /// `ctx: &RunContext`.
    Context,
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
    pub args: Vec<Arg>,
    pub doc: String,
    pub returns: Returns,
}

fn unknown_key(path: &syn::Path, what: &str, valid: &[&str]) -> syn::Error {
    let key = path
        .get_ident()
        .map_or_else(|| quote::quote!(#path).to_string(), Ident::to_string);
    syn::Error::new_spanned(
        path,
        format!(
            "unknown {what} `{key}`; expected one of: {}",
            valid.join(", ")
        ),
    )
}

/// Consumes `= value` after a key we are rejecting, so parsing goes on to the next key.
fn skip_value(meta: &syn::meta::ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn duplicate(path: &syn::Path) -> syn::Error {
    syn::Error::new_spanned(
        path,
        format!(
            "duplicate option `{}`",
            path.get_ident().map_or(String::new(), Ident::to_string)
        ),
    )
}

pub fn task_options(args: TokenStream, errors: &mut Errors) -> TaskOptions {
    let mut opts = TaskOptions::default();
    let parser = syn::meta::parser(|meta| {
        let path = meta.path.clone();
        if path.is_ident(NAME) {
            let lit: LitStr = meta.value()?.parse()?;
            if opts.name.replace(lit).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(OUTPUT) {
            let lit: LitStr = meta.value()?.parse()?;
            if opts.output.replace(lit).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(WRAPPER) {
            if opts.wrapper.replace(path.span()).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(FORMAT) {
            let lit: LitStr = meta.value()?.parse()?;
            let format = match lit.value().as_str() {
                "json" => Format::Json,
                "msgpack" | "messagepack" => Format::MessagePack,
                other => {
                    errors.error_spanned_by(
                        &lit,
                        format!("unknown format `{other}`; expected \"json\" or \"msgpack\""),
                    );
                    Format::Json
                }
            };
            if opts.format.replace((format, lit.span())).is_some() {
                errors.push(duplicate(&path));
            }
        } else {
            errors.push(unknown_key(&path, "task option", TASK_OPTIONS));
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    opts
}

fn param_options(attr: &Attribute, errors: &mut Errors) -> ParamOptions {
    let mut opts = ParamOptions {
        default: None,
        significant: true,
        significant_span: None,
    };
    let mut seen_default = false;
    let result = attr.parse_nested_meta(|meta| {
        let path = meta.path.clone();
        if path.is_ident(DEFAULT) {
            if std::mem::replace(&mut seen_default, true) {
                errors.push(duplicate(&path));
            }
            opts.default = Some(if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse()?
            } else {
                syn::parse_quote_spanned!(path.span()=> ::core::default::Default::default())
            });
        } else if path.is_ident(SIGNIFICANT) {
            if opts.significant_span.replace(path.span()).is_some() {
                errors.push(duplicate(&path));
            }
            opts.significant = if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::LitBool>()?.value
            } else {
                true
            };
        } else {
            errors.push(unknown_key(&path, "parameter option", PARAM_OPTIONS));
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        errors.push(e);
    }
    opts
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

fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => {
            matches!(&*r.elem, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "RunContext"))
        }
        _ => false,
    }
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
    let item: syn::Item = syn::parse2(input)?;
    let mut item = match item {
        syn::Item::Fn(f) => f,
        other => {
            let (tokens, what) = non_function_span(&other);
            return Err(syn::Error::new_spanned(
                tokens,
                format!("#[task] can only be used on functions, not on {what}; write `#[task] fn name(param: Type, ...) -> Result<Output>`"),
            ));
        }
    };
    let options = task_options(args, errors);

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
                param_opts = Some((param_options(&attr, errors), attr.path().span()));
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
            (None, None) => ArgKind::Param(ParamOptions {
                default: None,
                significant: true,
                significant_span: None,
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
        args,
    })
}
