//! The `#[retryable]` attribute; use it through `retry-runtime`.
use proc_macro::TokenStream;

#[proc_macro_attribute]
pub fn retryable(_args: TokenStream, input: TokenStream) -> TokenStream {
    input
}
