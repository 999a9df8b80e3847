//! The `#[retryable]` attribute of [`retry-runtime`]. Depend on `retry-runtime`
//! and write `use retry_runtime::retryable;`: this crate is its implementation.
//!
//! The macro works in three stages, one module each:
//! - `attr` parses the attribute's keys, accumulating every mistake;
//! - `check` reads the function's signature and enforces the compile-time rules
//!   that syntax can decide (the rest are trait bounds, checked by rustc at the
//!   user's tokens);
//! - `expand` generates the retry loop.
//!
//! `#[derive(Classify)]` has the same three stages in `derive/`.
//!
//! On any error the function is emitted unchanged next to the errors, so the
//! user sees our messages and not a cascade, and IDEs keep working.
//!
//! [`retry-runtime`]: https://docs.rs/retry-runtime

mod attr;
mod check;
mod derive;
mod expand;
mod self_rename;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::ToTokens;

/// Implemented in the `retry-macros` crate: depend on `retry-runtime` and write
/// `use retry_runtime::retryable;` (its documentation there is the full reference).
#[proc_macro_attribute]
pub fn retryable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_retryable(args.into(), item.into()).into()
}

/// Implemented in the `retry-macros` crate: depend on `retry-runtime` and write
/// `use retry_runtime::Classify;`, which brings the trait and this derive.
#[proc_macro_derive(Classify, attributes(classify))]
pub fn derive_classify(item: TokenStream) -> TokenStream {
    derive::derive(item.into()).into()
}

fn expand_retryable(args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let (parsed_args, arg_errors) = attr::Args::parse(args);
    let function = match check::parse_function(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let mut out = item;
            if let Some(arg_errors) = arg_errors {
                out.extend(arg_errors.write_errors());
            }
            out.extend(error.to_compile_error());
            return out;
        }
    };
    let plan = check::check(function, parsed_args, arg_errors);
    match plan {
        Ok(plan) => expand::expand(plan),
        Err(failed) => {
            let (function, errors) = *failed;
            let mut out = function.into_token_stream();
            out.extend(errors);
            out
        }
    }
}
