//! Parsing: the attribute arguments and the function into a typed model that keeps the
//! original syntax nodes for spans. Rules that involve several parts live in `validate`.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Type};

use crate::ctxt::Errors;

/// Option keywords of `#[task(...)]`.
pub const NAME: &str = "name";
pub const OUTPUT: &str = "output";
pub const WRAPPER: &str = "wrapper";
pub const FORMAT: &str = "format";
pub const TIMEOUT_OPT: &str = "timeout";
pub const INTERMEDIATE: &str = "intermediate";
pub const EXTERNAL: &str = "external";
pub const ACCEPTS_MESSAGES: &str = "accepts_messages";
pub const MAX_BATCH_SIZE: &str = "max_batch_size";
const TASK_OPTIONS: &[&str] = &[
    NAME,
    OUTPUT,
    WRAPPER,
    FORMAT,
    TIMEOUT_OPT,
    INTERMEDIATE,
    EXTERNAL,
    ACCEPTS_MESSAGES,
    MAX_BATCH_SIZE,
];

/// Option keywords of `#[param(...)]` on an argument.
pub const DEFAULT: &str = "default";
pub const SIGNIFICANT: &str = "significant";
pub const BATCH: &str = "batch";
const PARAM_OPTIONS: &[&str] = &[DEFAULT, SIGNIFICANT, BATCH];

/// How a batched run combines one parameter's values (Luigi's `batch_method`).
pub enum BatchMethod {
    Max(Span),
    Min(Span),
    /// Comma-joined, for `String` parameters.
    List(Span),
    /// A user function `fn(&[T]) -> T`.
    Custom(syn::Path),
}

/// Option keywords of `#[run_with_lock(...)]`.
pub const KEY: &str = "key";
pub const TTL: &str = "ttl";
pub const TIMEOUT: &str = "timeout";
pub const LOCK: &str = "lock";
pub const ON_CONFLICT: &str = "on_conflict";
pub const UNIQUE_ARGS: &str = "unique_args";
const LOCK_OPTIONS: &[&str] = &[KEY, TTL, TIMEOUT, LOCK, ON_CONFLICT, UNIQUE_ARGS];

/// Function attributes `#[task]` consumes.
pub const RUN_WITH_LOCK_ATTR: &str = "run_with_lock";
pub const RESOURCES_ATTR: &str = "resources";

/// A resource's name: fixed, or a template over parameters (`"{file}"`).
pub enum ResourceName {
    Fixed(Ident),
    Template(LitStr),
}

/// One `name = amount` of `#[resources(...)]`.
pub struct Resource {
    pub name: ResourceName,
    pub amount: u32,
}

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
    /// `timeout = "30m"`, in milliseconds.
    pub timeout_ms: Option<u64>,
    pub intermediate: Option<Span>,
    /// `external`: data kart never produces (Luigi's `ExternalTask`).
    pub external: Option<Span>,
    /// `accepts_messages`: the run context receives messages (Luigi's scheduler messages).
    pub accepts_messages: Option<Span>,
    /// `max_batch_size = N`, with its span.
    pub max_batch_size: Option<(u32, Span)>,
}

pub struct ParamOptions {
    /// `default = expr`, or `default` alone (meaning `Default::default()`).
    pub default: Option<Expr>,
    /// `significant = false` excludes the parameter from the id and path.
    pub significant: bool,
    pub significant_span: Option<Span>,
    /// `batch = "max" | "min" | "list" | path::to::function`.
    pub batch: Option<BatchMethod>,
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    UntilExecuting,
    WhileExecuting,
    UntilExecuted,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Conflict {
    Reject,
    Raise,
    Reschedule,
}

/// `#[run_with_lock(...)]`.
pub struct RunLockOptions {
    /// The attribute's path, for spans.
    pub path: syn::Path,
    pub key: Option<LitStr>,
    pub ttl_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub phase: Option<(Phase, Span)>,
    pub on_conflict: Option<(Conflict, Span)>,
    pub unique_args: Option<Vec<Ident>>,
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
        } else if path.is_ident(TIMEOUT_OPT) {
            if opts.timeout_ms.is_some() {
                errors.push(duplicate(&path));
            }
            opts.timeout_ms = duration_lit(&meta, errors)?;
        } else if path.is_ident(INTERMEDIATE) {
            if opts.intermediate.replace(path.span()).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(EXTERNAL) {
            if opts.external.replace(path.span()).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(ACCEPTS_MESSAGES) {
            if opts.accepts_messages.replace(path.span()).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(MAX_BATCH_SIZE) {
            let lit: syn::LitInt = meta.value()?.parse()?;
            match lit.base10_parse::<u32>() {
                Ok(n) if n >= 1 => {
                    if opts.max_batch_size.replace((n, lit.span())).is_some() {
                        errors.push(duplicate(&path));
                    }
                }
                _ => errors.error_spanned_by(
                    &lit,
                    "`max_batch_size` is a whole number of tasks, at least 1",
                ),
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
        batch: None,
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
        } else if path.is_ident(BATCH) {
            let method = match meta.value()?.parse::<Expr>()? {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(lit),
                    ..
                }) => match lit.value().as_str() {
                    "max" => Some(BatchMethod::Max(lit.span())),
                    "min" => Some(BatchMethod::Min(lit.span())),
                    "list" => Some(BatchMethod::List(lit.span())),
                    other => {
                        errors.error_spanned_by(&lit, format!("unknown batch method \"{other}\"; expected \"max\", \"min\", \"list\" (comma-joined) or a function `fn(&[T]) -> T`"));
                        None
                    }
                },
                Expr::Path(p) if p.qself.is_none() => Some(BatchMethod::Custom(p.path)),
                other => {
                    errors.error_spanned_by(&other, "a batch method is \"max\", \"min\", \"list\" or the path of a function `fn(&[T]) -> T`");
                    None
                }
            };
            if opts.batch.is_some() {
                errors.push(duplicate(&path));
            }
            opts.batch = method.or(opts.batch.take());
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

/// A duration in milliseconds, by the grammar the runtime uses too; zero is no TTL or timeout.
fn duration_ms(text: &str) -> Option<u64> {
    let ms = kart_grammar::duration::parse(text).ok()?.as_millis();
    u64::try_from(ms).ok().filter(|&ms| ms > 0)
}

fn duration_lit(
    meta: &syn::meta::ParseNestedMeta,
    errors: &mut Errors,
) -> syn::Result<Option<u64>> {
    let lit: LitStr = meta.value()?.parse()?;
    match duration_ms(&lit.value()) {
        Some(ms) => Ok(Some(ms)),
        None => {
            errors.error_spanned_by(
                &lit,
                format!(
                    "invalid duration {:?}: write e.g. \"500ms\", \"30s\", \"10m\", \"1h30m\"",
                    lit.value()
                ),
            );
            Ok(None)
        }
    }
}

fn run_lock_options(attr: &Attribute, errors: &mut Errors) -> RunLockOptions {
    let mut opts = RunLockOptions {
        path: attr.path().clone(),
        key: None,
        ttl_ms: None,
        timeout_ms: None,
        phase: None,
        on_conflict: None,
        unique_args: None,
    };
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return opts;
    }
    let mut seen: Vec<String> = Vec::new();
    let result = attr.parse_nested_meta(|meta| {
        let path = meta.path.clone();
        let name = path.get_ident().map(Ident::to_string).unwrap_or_default();
        if seen.contains(&name) {
            errors.push(duplicate(&path));
        }
        seen.push(name.clone());
        match name.as_str() {
            KEY => opts.key = Some(meta.value()?.parse()?),
            TTL => opts.ttl_ms = duration_lit(&meta, errors)?,
            TIMEOUT => opts.timeout_ms = duration_lit(&meta, errors)?,
            LOCK => {
                let ident: Ident = meta.value()?.parse()?;
                let phase = match ident.to_string().as_str() {
                    "until_executing" => Some(Phase::UntilExecuting),
                    "while_executing" => Some(Phase::WhileExecuting),
                    "until_executed" => Some(Phase::UntilExecuted),
                    other => {
                        errors.error_spanned_by(&ident, format!("unknown lock phase `{other}`; expected one of: until_executing, while_executing, until_executed"));
                        None
                    }
                };
                opts.phase = phase.map(|p| (p, ident.span()));
            }
            ON_CONFLICT => {
                let ident: Ident = meta.value()?.parse()?;
                let conflict = match ident.to_string().as_str() {
                    "reject" => Some(Conflict::Reject),
                    "raise" => Some(Conflict::Raise),
                    "reschedule" => Some(Conflict::Reschedule),
                    other => {
                        errors.error_spanned_by(&ident, format!("unknown conflict strategy `{other}`; expected one of: reject, raise, reschedule"));
                        None
                    }
                };
                opts.on_conflict = conflict.map(|c| (c, ident.span()));
            }
            UNIQUE_ARGS => {
                let value = meta.value()?;
                let content;
                syn::bracketed!(content in value);
                let names = content.parse_terminated(Ident::parse, syn::Token![,])?;
                opts.unique_args = Some(names.into_iter().collect());
            }
            _ => {
                errors.push(unknown_key(&path, "run_with_lock option", LOCK_OPTIONS));
                skip_value(&meta)?;
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        errors.push(e);
    }
    opts
}

fn resources_options(attr: &Attribute, out: &mut Vec<Resource>, errors: &mut Errors) {
    let parser = |input: syn::parse::ParseStream| -> syn::Result<()> {
        while !input.is_empty() {
            let name = if input.peek(LitStr) {
                ResourceName::Template(input.parse()?)
            } else {
                ResourceName::Fixed(input.call(Ident::parse_any)?)
            };
            input.parse::<syn::Token![=]>()?;
            let value: Expr = input.parse()?;
            match &value {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) if n.base10_parse::<u32>().is_ok_and(|v| v > 0) => out.push(Resource {
                    name,
                    amount: n.base10_parse().expect("checked"),
                }),
                other => errors.error_spanned_by(other, "a resource amount is a whole number of units, at least 1 (like `warehouse_db = 1`)"),
            }
            if input.is_empty() {
                break;
            }
            input.parse::<syn::Token![,]>()?;
        }
        Ok(())
    };
    if let Err(e) = attr.parse_args_with(parser) {
        errors.push(e);
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
    let options = task_options(args, errors);
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
            resources_options(&attr, &mut resources, errors);
        } else if attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == RUN_WITH_LOCK_ATTR)
        {
            if run_lock.is_some() {
                errors.error_spanned_by(&attr, "duplicate #[run_with_lock] attribute");
            }
            run_lock = Some(run_lock_options(&attr, errors));
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
