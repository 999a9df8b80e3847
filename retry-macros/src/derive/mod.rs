//! `#[derive(Classify)]`: the classes of an error type, written on its variants.
//!
//! Same three stages as the attribute: `parse` reads every `#[classify(...)]`
//! (the type's, its variants', their fields'), `check` settles each variant's
//! class, `expand` writes the `impl`. Every mistake is reported in one build; on
//! any, the impl is still emitted (with the unresolved arms unreachable), so the
//! user sees our errors and not a missing `Classify` as well.

mod check;
mod expand;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = Vec::new();
    let Some(parsed) = parse::parse(&input, &mut errors) else {
        return darling::Error::multiple(errors).write_errors();
    };
    let plan = check::check(parsed, &mut errors);
    if errors.is_empty() {
        expand::expand(&plan, true)
    } else {
        let mut out = darling::Error::multiple(errors).write_errors();
        out.extend(expand::expand(&plan, false));
        out
    }
}
