//! Rules across options and arguments. Every violation is recorded with its span; expansion
//! only runs when there are none.

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::Type;

use crate::ctxt::Errors;

use crate::ast::{ArgKind, Returns, TaskFn};
use crate::attr::{Conflict, Phase, RunLockOptions};
use kart_grammar::template::{self, Segment};

pub fn task(t: &TaskFn, errors: &mut Errors) {
    if let Some(ns) = &t.options.namespace {
        let valid = ns
            .value()
            .split('.')
            .all(|part| syn::parse_str::<syn::Ident>(part).is_ok());
        if !valid {
            errors.error_spanned_by(
                ns,
                format!(
                    "namespace {:?} is not dot-separated identifiers (like \"reports.daily\")",
                    ns.value()
                ),
            );
        }
    }
    if let Some(name) = &t.options.name {
        if syn::parse_str::<syn::Ident>(&name.value()).is_err() {
            errors.error_spanned_by(
                name,
                format!(
                    "task name {:?} is not a valid Rust identifier",
                    name.value()
                ),
            );
        }
    }
    let mut contexts = 0;
    for arg in &t.args {
        match &arg.kind {
            ArgKind::Param(opts) => {
                param_type(&arg.ty, errors);
                if let Some(method) = &opts.batch {
                    batch_method(t, &arg.ty, method, errors);
                }
            }
            ArgKind::Requires(_) => {
                if let Some(span) = t.options.wrapper {
                    errors.push(syn::Error::new(
                        span,
                        "a wrapper returns the tasks it requires and loads no inputs: remove #[requires] arguments or `wrapper`",
                    ));
                }
            }
            ArgKind::Context => {
                contexts += 1;
                if contexts > 1 {
                    errors.error_spanned_by(&arg.ty, "only one `&RunContext` argument is allowed");
                }
            }
            ArgKind::Output(_) | ArgKind::Transaction(_) => {}
        }
    }
    staged_output(t, errors);
    table(t, errors);
    if t.options.wrapper.is_some() {
        wrapper(t, errors);
    }
    let batches = t
        .args
        .iter()
        .any(|a| matches!(&a.kind, ArgKind::Param(o) if o.batch.is_some()));
    if let (Some(expr), false) = (&t.options.batchable, batches) {
        errors.error_spanned_by(
            expr,
            "`batchable` needs a parameter to batch: add `#[param(batch = \"max\")]` (or min, list, a function) to one",
        );
    }
    if let (Some((_, span)), false) = (t.options.max_batch_size, batches) {
        errors.push(syn::Error::new(
            span,
            "`max_batch_size` needs a parameter to batch: add `#[param(batch = \"max\")]` (or min, list, a function) to one",
        ));
    }
    if let Some(span) = t.options.accepts_messages {
        if t.options.wrapper.is_some() || t.options.external.is_some() {
            errors.push(syn::Error::new(
                span,
                "only a task that runs can receive messages: remove `accepts_messages` from this wrapper or external task",
            ));
        } else if contexts == 0 {
            errors.push(syn::Error::new(
                span,
                "a task reads its messages through its run context: add an argument `ctx: &kart_core::RunContext` and call `ctx.next_message()`",
            ));
        }
    }
    match (t.options.external, t.bodyless) {
        (Some(span), _) => external(t, span, errors),
        (None, Some(semi)) => errors.push(syn::Error::new(
            semi,
            "a task function needs a body; data kart never produces is declared with `#[task(external)]`",
        )),
        (None, None) => {}
    }
    if let Some(output) = &t.options.output {
        output_template(t, output, errors);
    }
    if let Some(lock) = &t.run_lock {
        run_lock(t, lock, errors);
    }
    for r in &t.resources {
        if let crate::attr::ResourceName::Template(lit) = &r.name {
            resource_template(t, lit, errors);
        }
    }
    if let (Some(span), false) = (t.options.wrapper, t.resources.is_empty()) {
        errors.push(syn::Error::new(
            span,
            "a wrapper does not run, so it uses no resources: remove #[resources]",
        ));
    }
}

fn resource_template(t: &TaskFn, lit: &syn::LitStr, errors: &mut Errors) {
    let segments = match template::parse(&lit.value()) {
        Ok(s) => s,
        Err(message) => {
            return errors
                .error_spanned_by(lit, message.replace("output template", "resource name"))
        }
    };
    for seg in segments {
        if let Segment::Param { name, .. } = seg {
            let known = t
                .args
                .iter()
                .any(|a| matches!(a.kind, ArgKind::Param(_)) && a.ident == name.as_str());
            if !known {
                errors.error_spanned_by(
                    lit,
                    format!(
                        "resource name names `{{{name}}}`, which is not a parameter of `{}`",
                        t.item.sig.ident
                    ),
                );
            }
        }
    }
}

/// Cloudtasker's table: which conflict strategies go with which lock phase.
fn run_lock(t: &TaskFn, lock: &RunLockOptions, errors: &mut Errors) {
    if t.options.wrapper.is_some() {
        errors.error_spanned_by(
            &lock.path,
            "a wrapper does not run, so it cannot be locked: remove #[run_with_lock]",
        );
    }
    if let (Some((Conflict::Reschedule, span)), Some((phase, _))) = (lock.on_conflict, lock.phase) {
        if phase != Phase::WhileExecuting {
            let name = if phase == Phase::UntilExecuting {
                "until_executing"
            } else {
                "until_executed"
            };
            errors.push(syn::Error::new(
                span,
                format!("`reschedule` goes only with `lock = while_executing`; `{name}` allows `reject` (the default) or `raise`"),
            ));
        }
    }
    if lock.phase.is_none() {
        if let Some((_, span)) = lock.on_conflict {
            errors.push(syn::Error::new(span, "`on_conflict` applies to unique jobs: add `lock = until_executing | while_executing | until_executed`"));
        }
        if let Some(args) = &lock.unique_args {
            let message = "`unique_args` applies to unique jobs: add `lock = until_executing | while_executing | until_executed`";
            match args.first() {
                Some(first) => errors.error_spanned_by(first, message),
                None => errors.error_spanned_by(&lock.path, message),
            }
        }
    }
    if let (Some(key), Some(_)) = (&lock.key, &lock.phase) {
        errors.error_spanned_by(
            key,
            "a unique job's key comes from its arguments: use `unique_args` instead of `key`",
        );
    }
    if let Some(args) = &lock.unique_args {
        for name in args {
            let known = t
                .args
                .iter()
                .any(|a| matches!(a.kind, ArgKind::Param(_)) && a.ident == *name);
            if !known {
                errors.error_spanned_by(
                    name,
                    format!(
                        "`unique_args` names `{name}`, which is not a parameter of `{}`",
                        t.item.sig.ident
                    ),
                );
            }
        }
    }
}

/// Types `max`/`min` can order: kart's ordered parameter types. Other named types (a user's
/// enum) are left to the compiler's `Ord` check.
const UNORDERED: &[&str] = &["f32", "f64", "bool", "Value", "Map", "Vec", "Option"];

fn batch_method(t: &TaskFn, ty: &Type, method: &crate::attr::BatchMethod, errors: &mut Errors) {
    use crate::attr::BatchMethod;
    if t.options.wrapper.is_some() || t.options.external.is_some() {
        let span = match method {
            BatchMethod::Max(s) | BatchMethod::Min(s) | BatchMethod::List(s) => *s,
            BatchMethod::Custom(p) => syn::spanned::Spanned::span(p),
        };
        errors.push(syn::Error::new(
            span,
            "only a task that runs can be batched: remove `batch` from this wrapper or external task",
        ));
        return;
    }
    let name = match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    let ty_text = ty.to_token_stream().to_string().replace(' ', "");
    match method {
        BatchMethod::Max(span) | BatchMethod::Min(span) => {
            if name.as_deref().is_some_and(|n| UNORDERED.contains(&n)) {
                errors.push(syn::Error::new(
                    *span,
                    format!("batch method \"max\"/\"min\" needs an ordered type, and `{ty_text}` has no order: use integers, String, dates, Month, Duration, or a function `fn(&[{ty_text}]) -> {ty_text}`"),
                ));
            }
        }
        BatchMethod::List(span) => {
            if name.as_deref() != Some("String") {
                errors.push(syn::Error::new(
                    *span,
                    format!("batch method \"list\" joins values with commas, so the parameter must be `String`, not `{ty_text}`"),
                ));
            }
        }
        BatchMethod::Custom(_) => {}
    }
}

/// An external task is a declaration: parameters, an output path and a type, nothing to run.
fn external(t: &TaskFn, span: proc_macro2::Span, errors: &mut Errors) {
    if t.bodyless.is_none() {
        errors.push(syn::Error::new(
            t.item.block.brace_token.span.open(),
            "an external task is never run: declare it without a body, ending with `;`",
        ));
    }
    let never_runs = |what: &str| format!("an external task is never run, so {what}");
    if t.options.wrapper.is_some() {
        errors.push(syn::Error::new(
            span,
            "a task is either `external` (data that must exist) or a `wrapper` (no output)",
        ));
    }
    if let Some(lock) = &t.run_lock {
        errors.error_spanned_by(
            &lock.path,
            never_runs("it cannot be locked: remove #[run_with_lock]"),
        );
    }
    if let Some(r) = t.resources.first() {
        let message = never_runs("it uses no resources: remove #[resources]");
        match &r.name {
            crate::attr::ResourceName::Fixed(ident) => errors.error_spanned_by(ident, message),
            crate::attr::ResourceName::Template(lit) => errors.error_spanned_by(lit, message),
        }
    }
    if let Some(span) = t.options.intermediate {
        errors.push(syn::Error::new(
            span,
            never_runs("kart must not collect its output: remove `intermediate`"),
        ));
    }
    if t.options.timeout_ms.is_some() {
        errors.push(syn::Error::new(
            span,
            never_runs("it cannot time out: remove `timeout`"),
        ));
    }
    for arg in &t.args {
        match arg.kind {
            ArgKind::Requires(_) => errors.error_spanned_by(
                &arg.ident,
                never_runs("it requires nothing: remove this #[requires] argument"),
            ),
            ArgKind::Context => errors.error_spanned_by(
                &arg.ty,
                never_runs("it has no run context: remove this argument"),
            ),
            ArgKind::Output(_) | ArgKind::Transaction(_) => errors.error_spanned_by(
                &arg.ty,
                never_runs("it writes no output: remove this argument"),
            ),
            ArgKind::Param(_) => {}
        }
    }
}

/// `-> ()`, `-> Result<()>` or no return type.
fn returns_nothing(t: &TaskFn) -> bool {
    match &t.returns {
        Returns::Unit => true,
        Returns::Result(ty) => matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty()),
        Returns::Plain(_) => false,
    }
}

/// Table outputs: `table` and `db` together, with one transaction argument and nothing else
/// that would be an output; the rows are the output, so nothing is returned.
fn table(t: &TaskFn, errors: &mut Errors) {
    let o = &t.options;
    let mut txs = t
        .args
        .iter()
        .filter(|a| matches!(a.kind, ArgKind::Transaction(_)));
    let tx = txs.next();
    for extra in txs {
        errors.error_spanned_by(&extra.ty, "a table task writes in one transaction: only one `&mut PgTransaction` or `&mut SqliteTransaction` argument is allowed");
    }
    let Some(table) = &o.table else {
        if let Some(hook) = &o.on_invalidate {
            errors.error_spanned_by(hook, "`on_invalidate` deletes a table task's rows with its marker: it is for a task with `table = \"...\"`");
        }
        if let Some(db) = &o.db {
            errors.error_spanned_by(db, "`db` names the database of a table task: add `table = \"...\"`, the table it writes");
        }
        if let Some(tx) = tx {
            errors.error_spanned_by(
                &tx.ty,
                "a transaction is for a table task: add `table = \"...\", db = \"...\"` to #[task]",
            );
        }
        return;
    };
    if o.db.is_none() {
        errors.error_spanned_by(table, "a table task names its database: add `db = \"...\"` (configured as [databases.NAME] url = ...)");
    }
    if tx.is_none() {
        errors.error_spanned_by(&t.item.sig.ident, "a table task writes its rows in the transaction kart gives it: take `tx: &mut kart_core::db::PgTransaction` (PostgreSQL) or `tx: &mut kart_core::db::SqliteTransaction` (SQLite)");
    }
    let conflicts = [
        (o.wrapper, "a wrapper"),
        (o.external, "external data"),
        (
            o.output.as_ref().map(|l| l.span()),
            "a task with an output file",
        ),
        (o.format.as_ref().map(|f| f.1), "a task with a value format"),
        (
            o.complete.as_ref().map(|p| p.span()),
            "a task with its own `complete` rule",
        ),
        (
            o.bulk_complete.as_ref().map(|p| p.span()),
            "a task with its own `bulk_complete` rule",
        ),
        (
            o.intermediate,
            "an intermediate output (`gc` never touches tables)",
        ),
    ];
    for (span, what) in conflicts {
        if let Some(span) = span {
            errors.push(syn::Error::new(span, format!("a table task is complete when its marker row is committed, so it cannot also be {what}: remove this")));
        }
    }
    for a in &t.args {
        if let ArgKind::Output(_) = a.kind {
            errors.error_spanned_by(
                &a.ty,
                "a table task's output is its rows: remove this argument",
            );
        }
    }
    if !returns_nothing(t) {
        errors.error_spanned_by(&t.item.sig.output, "a table task's output is the rows it writes: return nothing (or `kart_core::Result<()>`)");
    }
}

/// File and directory outputs: one staged argument, no format, nothing returned, and a
/// template that ends in `/` exactly for a directory.
fn staged_output(t: &TaskFn, errors: &mut Errors) {
    let mut staged = t.args.iter().filter_map(|a| match a.kind {
        ArgKind::Output(s) => Some((a, s)),
        _ => None,
    });
    let first = staged.next();
    for (extra, _) in staged {
        errors.error_spanned_by(&extra.ty, "a task has one output: only one `&mut OutputFile` or `&mut OutputDir` argument is allowed");
    }
    let dir_template = t
        .options
        .output
        .as_ref()
        .filter(|lit| lit.value().ends_with('/'));
    let Some((arg, s)) = first else {
        if let Some(lit) = dir_template {
            errors.error_spanned_by(lit, "an output template ending in `/` is a directory: add an argument `out: &mut kart_core::OutputDir` and fill `out.path()`");
        }
        return;
    };
    let what = if s.dir { "directory" } else { "file" };
    if t.options.wrapper.is_some() {
        errors.error_spanned_by(
            &arg.ty,
            "a wrapper has no output of its own: remove this argument",
        );
    }
    if let Some((_, span)) = &t.options.format {
        errors.push(syn::Error::new(
            *span,
            format!(
                "a {what} output is written by the task itself, in no kart format: remove `format`"
            ),
        ));
    }
    if !returns_nothing(t) && t.options.wrapper.is_none() {
        errors.error_spanned_by(&t.item.sig.output, format!("a task writing a {what} returns nothing (or `Result<()>`): the {what} is its output"));
    }
    match (&t.options.output, s.dir) {
        (Some(lit), false) if lit.value().ends_with('/') => errors.error_spanned_by(lit, "an output template ending in `/` is a directory: take `&mut OutputDir` instead of `&mut OutputFile`, or drop the `/`"),
        (Some(lit), true) if !lit.value().ends_with('/') => errors.error_spanned_by(lit, "a directory output's template ends in `/`, like \"models/{date}/\""),
        _ => {}
    }
}

fn wrapper(t: &TaskFn, errors: &mut Errors) {
    if let Some(output) = &t.options.output {
        errors.error_spanned_by(
            output,
            "a wrapper has no output of its own: remove `output`",
        );
    }
    if let Some(span) = t.options.intermediate {
        errors.push(syn::Error::new(
            span,
            "a wrapper has no output to collect: remove `intermediate`",
        ));
    }
    if let Some((_, span)) = t.options.format {
        errors.push(syn::Error::new(
            span,
            "a wrapper has no output of its own: remove `format`",
        ));
    }
    for rule in [&t.options.complete, &t.options.bulk_complete]
        .into_iter()
        .flatten()
    {
        errors.error_spanned_by(
            rule,
            "a wrapper is complete exactly when everything it requires is: remove this rule, or give it to the tasks it requires",
        );
    }
    match &t.returns {
        Returns::Plain(_) => {}
        Returns::Unit => errors.error_spanned_by(
            &t.item.sig.ident,
            "a wrapper returns the tasks it requires: add `-> Vec<kart_core::AnyTask>` and return `kart_core::tasks![...]`",
        ),
        Returns::Result(_) => errors.error_spanned_by(
            &t.item.sig.output,
            "a wrapper returns the tasks it requires directly, not a Result: `-> Vec<kart_core::AnyTask>`",
        ),
    }
}

fn output_template(t: &TaskFn, output: &syn::LitStr, errors: &mut Errors) {
    let segments = match template::parse(&output.value()) {
        Ok(s) => s,
        Err(message) => return errors.error_spanned_by(output, message),
    };
    let params: Vec<_> = t
        .args
        .iter()
        .filter_map(|a| match &a.kind {
            ArgKind::Param(opts) => Some((a.ident.to_string(), opts.significant)),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    let mut used = Vec::new();
    for seg in &segments {
        if let Segment::Param { name, .. } = seg {
            match params.iter().find(|(n, _)| n == name) {
                None => errors.error_spanned_by(
                    output,
                    format!(
                        "output template names `{{{name}}}`, which is not a parameter of `{}`; parameters: {}",
                        t.item.sig.ident,
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                ),
                Some((_, false)) => errors.error_spanned_by(
                    output,
                    format!("output template names `{{{name}}}`, which is `significant = false`: the path must depend only on significant parameters"),
                ),
                Some(_) => used.push(name.as_str()),
            }
        }
    }
    for (name, significant) in &params {
        if *significant && !used.contains(&name.as_str()) {
            errors.error_spanned_by(
                output,
                format!("output template does not mention parameter `{{{name}}}`: instances differing only in `{name}` would write the same file (add it, or mark it `#[param(significant = false)]`)"),
            );
        }
    }
}

/// Types that can never be parameters, caught before the trait check for a clearer message.
fn param_type(ty: &Type, errors: &mut Errors) {
    let hint = match ty {
        Type::Path(p) if p.qself.is_none() => return,
        Type::Paren(p) => return param_type(&p.elem, errors),
        Type::Group(g) => return param_type(&g.elem, errors),
        Type::Reference(r) if matches!(&*r.elem, Type::Path(p) if p.path.is_ident("str")) => {
            "use `String` instead of `&str`"
        }
        Type::Reference(_) => "parameters are owned values: drop the `&`",
        Type::Tuple(_) => "use separate arguments instead of a tuple",
        Type::Array(_) | Type::Slice(_) => "use `Vec<T>` for a list",
        _ => "see kart_core::Param for the supported types",
    };
    errors.error_spanned_by(
        ty,
        format!(
            "unsupported parameter type `{}`: {hint}",
            ty.to_token_stream().to_string().replace(" ", "")
        ),
    );
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    /// The messages validation adds to a function that parses cleanly.
    fn check(args: TokenStream, item: TokenStream) -> Vec<String> {
        let mut errors = crate::ctxt::Errors::default();
        let t = crate::ast::task_fn(args, item, &mut errors).expect("a function");
        errors.finish().expect("parses cleanly");
        let mut errors = crate::ctxt::Errors::default();
        super::task(&t, &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_valid_task_passes() {
        let errors = check(
            quote!(output = "d/{date:%Y}/{date}.json"),
            quote!(
                fn a(date: NaiveDate, #[param(significant = false)] n: u32) -> u64 {
                    1
                }
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn output_templates_name_every_significant_parameter_and_only_parameters() {
        let errors = check(
            quote!(output = "d/{day}.json"),
            quote!(
                fn a(date: NaiveDate, #[param(significant = false)] n: u32) -> u64 {
                    1
                }
            ),
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors
            .iter()
            .any(|e| e.contains("names `{day}`, which is not a parameter")));
        assert!(errors
            .iter()
            .any(|e| e.contains("does not mention parameter `{date}`")));
    }

    #[test]
    fn wrappers_neither_run_nor_lock_nor_write() {
        let errors = check(
            quote!(wrapper, output = "x.json"),
            quote! {
                #[run_with_lock]
                #[resources(db = 1)]
                fn a(date: NaiveDate) -> Vec<B> { vec![] }
            },
        );
        assert!(
            errors.iter().any(|e| e.contains("cannot be locked")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("uses no resources")),
            "{errors:?}"
        );
        assert!(errors.len() >= 3, "{errors:?}");
    }

    #[test]
    fn conflict_strategies_follow_cloudtaskers_table() {
        let errors = check(
            quote!(),
            quote! {
                #[run_with_lock(lock = until_executed, on_conflict = reschedule)]
                fn a(date: NaiveDate) {}
            },
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("`reschedule` goes only with `lock = while_executing`"));
        let errors = check(
            quote!(),
            quote! {
                #[run_with_lock(on_conflict = raise)]
                fn a(date: NaiveDate) {}
            },
        );
        assert!(
            errors[0].starts_with("`on_conflict` applies to unique jobs"),
            "{errors:?}"
        );
    }

    #[test]
    fn unsupported_parameter_types_say_what_to_use() {
        let errors = check(
            quote!(),
            quote!(
                fn a(name: &str, xs: [u8; 4]) {}
            ),
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].ends_with("use `String` instead of `&str`"));
        assert!(errors[1].ends_with("use `Vec<T>` for a list"));
    }
}
