//! The attribute parsers: `#[task(...)]`, `#[param(...)]`, `#[run_with_lock(...)]` and
//! `#[resources(...)]`. Each records every mistake with its span and parses on past it.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, LitStr};

use proc_macro2::Span;

use crate::ctxt::Errors;
use crate::symbol::*;

/// How a batched run combines one parameter's values (Luigi's `batch_method`).
pub enum BatchMethod {
    Max(Span),
    Min(Span),
    /// Comma-joined, for `String` parameters.
    List(Span),
    /// A user function `fn(&[T]) -> T`.
    Custom(syn::Path),
}

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

/// `format = "json"` (one of kart's) or `format = path::to::MyFormat` (the user's).
pub enum Format {
    /// The type's name in `kart_core::format`.
    Named(&'static str),
    Path(syn::Path),
}

/// kart's formats by the names `format = "..."` accepts, and their types.
const NAMED_FORMATS: &[(&str, &str)] = &[
    ("json", "Json"),
    ("msgpack", "MessagePack"),
    ("messagepack", "MessagePack"),
    ("csv", "Csv"),
    ("parquet", "Parquet"),
];

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
    /// `priority = expr`: an integer expression, which may name the parameters.
    pub priority: Option<Expr>,
    /// `batchable = expr`: whether this instance may join a batch (default true).
    pub batchable: Option<Expr>,
    /// `namespace = "reports.daily"`: the family is `reports.daily.Name` (Luigi's namespaces).
    pub namespace: Option<LitStr>,
    /// `complete = path::to::f`: `fn(&Task, &Workspace) -> kart_core::Result<bool>`.
    pub complete: Option<syn::Path>,
    /// `bulk_complete = path::to::f`: `fn(&[Task], &Workspace) -> kart_core::Result<Vec<Task>>`.
    pub bulk_complete: Option<syn::Path>,
    /// `table = "sales_daily"`: the task writes rows of this table in a transaction.
    pub table: Option<LitStr>,
    /// `db = "warehouse"`: the named database of a table task.
    pub db: Option<LitStr>,
    /// `on_invalidate = path::to::f`: a table task's rows to delete with its marker,
    /// `fn(&Task, &mut PgTransaction) -> kart_core::Result<()>` (or `SqliteTransaction`).
    pub on_invalidate: Option<syn::Path>,
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
        } else if path.is_ident(NAMESPACE) {
            let lit: LitStr = meta.value()?.parse()?;
            if opts.namespace.replace(lit).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(BATCHABLE) {
            let expr: Expr = meta.value()?.parse()?;
            if opts.batchable.replace(expr).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(PRIORITY) {
            let expr: Expr = meta.value()?.parse()?;
            if opts.priority.replace(expr).is_some() {
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
        } else if path.is_ident(TABLE) || path.is_ident(DB) {
            let lit: LitStr = meta.value()?.parse()?;
            let slot = match path.is_ident(TABLE) {
                true => &mut opts.table,
                false => &mut opts.db,
            };
            if slot.replace(lit).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(COMPLETE)
            || path.is_ident(BULK_COMPLETE)
            || path.is_ident(ON_INVALIDATE)
        {
            let f: syn::Path = meta.value()?.parse()?;
            let slot = if path.is_ident(COMPLETE) {
                &mut opts.complete
            } else if path.is_ident(BULK_COMPLETE) {
                &mut opts.bulk_complete
            } else {
                &mut opts.on_invalidate
            };
            if slot.replace(f).is_some() {
                errors.push(duplicate(&path));
            }
        } else if path.is_ident(FORMAT) {
            let value = meta.value()?;
            let (format, span) = if value.peek(LitStr) {
                let lit: LitStr = value.parse()?;
                let format = match NAMED_FORMATS.iter().find(|(name, _)| *name == lit.value()) {
                    Some((_, ty)) => Format::Named(ty),
                    None => {
                        errors.error_spanned_by(
                            &lit,
                            format!("unknown format `{}`; expected \"json\", \"msgpack\", \"csv\", \"parquet\" or the path of a type implementing `kart_core::Format`", lit.value()),
                        );
                        Format::Named("Json")
                    }
                };
                (format, lit.span())
            } else {
                let format_path: syn::Path = value.parse()?;
                let span = format_path.span();
                (Format::Path(format_path), span)
            };
            if opts.format.replace((format, span)).is_some() {
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

pub fn param_options(attr: &Attribute, errors: &mut Errors) -> ParamOptions {
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

pub fn run_lock_options(attr: &Attribute, errors: &mut Errors) -> RunLockOptions {
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

pub fn resources_options(attr: &Attribute, out: &mut Vec<Resource>, errors: &mut Errors) {
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
