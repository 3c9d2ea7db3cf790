//! Compile-fail cases: every misuse of the attributes is a spanned compile
//! error that says what is wrong. Each `tests/ui/*.rs` holds one misuse; its
//! `.stderr` is the compiler's output, generated with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
