//! What the compiler tells you: each file in `tests/ui/fail` is one documented mistake and its
//! `.stderr` the exact message, reviewed by eye. Regenerate with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
