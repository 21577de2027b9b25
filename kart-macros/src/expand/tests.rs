//! Expansion snapshots: what `#[task]` generates for a few representative tasks, pretty
//! printed, so a change to generated code shows in review. Update with `cargo insta review`
//! (or `INSTA_UPDATE=always cargo test -p kart-macros`).

use proc_macro2::TokenStream;
use quote::quote;

fn expand(args: TokenStream, item: TokenStream) -> String {
    let out = crate::task_with(args, item);
    let file: syn::File = syn::parse2(out).expect("expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn a_task_with_a_templated_output_and_a_defaulted_parameter() {
    insta::assert_snapshot!(expand(
        quote!(output = "sales/{date}.json"),
        quote! {
            /// Sales of one day.
            fn daily_sales(date: NaiveDate, #[param(default = 10)] top: u32) -> kart_core::Result<u64> {
                Ok(42)
            }
        },
    ));
}

#[test]
fn a_task_that_requires_others() {
    insta::assert_snapshot!(expand(
        quote!(),
        quote! {
            fn weekly_sales(
                end: NaiveDate,
                #[requires((0..7).map(|i| DailySales { date: end - chrono::Days::new(i), top: 10 }).collect::<Vec<_>>())]
                days: Vec<u64>,
                ctx: &RunContext,
            ) -> u64 {
                days.iter().sum()
            }
        },
    ));
}

#[test]
fn a_wrapper() {
    insta::assert_snapshot!(expand(
        quote!(wrapper),
        quote! {
            fn all_reports(date: NaiveDate) -> Vec<DailySales> {
                vec![DailySales { date, top: 10 }]
            }
        },
    ));
}

#[test]
fn a_locked_batched_task_with_resources() {
    insta::assert_snapshot!(expand(
        quote!(
            output = "load/{day}.json",
            format = "msgpack",
            timeout = "90min"
        ),
        quote! {
            #[run_with_lock(lock = until_executed, on_conflict = reject, unique_args = [day])]
            #[resources(warehouse_db = 1, "{day}" = 2)]
            fn load(#[param(batch = "max")] day: NaiveDate, #[param(significant = false)] note: String) {}
        },
    ));
}

#[test]
fn an_external_task() {
    insta::assert_snapshot!(expand(
        quote!(external, output = "raw/{date}.csv"),
        quote!(
            fn raw(date: NaiveDate) -> Vec<String>;
        ),
    ));
}

#[test]
fn a_task_with_a_mistake_still_declares_its_struct() {
    let out = expand(
        quote!(output = "x/{date}.json", fromat = "json"),
        quote!(
            fn daily(date: NaiveDate) -> kart_core::Result<u64> {
                Ok(1)
            }
        ),
    );
    insta::assert_snapshot!(out);
}
