//! Parsing `#[retryable(...)]`'s keys. Every mistake is collected, so one build
//! reports them all.

use darling::ast::NestedMeta;
use darling::util::Flag;
use darling::{Error, FromMeta};
use proc_macro2::TokenStream;
use syn::spanned::Spanned;

/// The attribute's keys, as written.
#[derive(Debug, Default, FromMeta)]
pub(crate) struct Args {
    pub(crate) policy: Option<Name>,
    pub(crate) breaker: Option<Name>,
    pub(crate) budget: Option<Name>,
    pub(crate) idempotent: Flag,
    pub(crate) retry_if: Option<RetryIf>,
    pub(crate) name: Option<Name>,
    #[darling(rename = "crate")]
    pub(crate) krate: Option<CratePath>,
}

impl Args {
    pub(crate) fn parse(tokens: TokenStream) -> Result<Args, Error> {
        let items = NestedMeta::parse_meta_list(tokens).map_err(Error::from)?;
        Args::from_list(&items)
    }
}

/// A non-empty string literal naming a policy, breaker, budget or call site.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub(crate) value: String,
}

impl FromMeta for Name {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        match expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => {
                let value = s.value();
                if value.trim().is_empty() {
                    return Err(Error::custom(
                        "this name is empty: write the name of an entry of the config file, e.g. \"network\"",
                    )
                    .with_span(s));
                }
                if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(Error::custom(format!(
                        "this name contains white space: names are config-table keys such as \"network\" or \"s3-eu\"; did you mean \"{}\"?",
                        value.split_whitespace().collect::<Vec<_>>().join("-")
                    ))
                    .with_span(s));
                }
                Ok(Name { value })
            }
            syn::Expr::Path(p) => Err(Error::custom(format!(
                "expected a string literal: write it in quotes, e.g. \"{}\"",
                p.path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default()
            ))
            .with_span(expr)),
            _ => Err(Error::custom(
                "expected a string literal naming an entry of the config file, e.g. \"network\"",
            )
            .with_span(expr)),
        }
    }

    fn from_word() -> darling::Result<Self> {
        Err(Error::custom(
            "this key needs a value: write it as `key = \"name\"`",
        ))
    }
}

/// `retry_if = path::to::predicate` (a path, not a string).
#[derive(Debug, Clone)]
pub(crate) struct RetryIf(pub(crate) syn::Path);

impl FromMeta for RetryIf {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        match expr {
            syn::Expr::Path(p) if p.qself.is_none() => Ok(RetryIf(p.path.clone())),
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => {
                Err(Error::custom(format!(
                    "`retry_if` takes a path to a function, not a string: write `retry_if = {}`",
                    s.value()
                ))
                .with_span(s))
            }
            syn::Expr::Closure(_) => Err(Error::custom(
                "`retry_if` takes a path to a `fn(&E) -> bool`, not a closure: move the closure into a named function and write `retry_if = that_fn`",
            )
            .with_span(expr)),
            _ => Err(Error::custom(
                "`retry_if` takes a path to a `fn(&E) -> bool`, e.g. `retry_if = is_transient`",
            )
            .with_span(expr)),
        }
    }

    fn from_word() -> darling::Result<Self> {
        Err(Error::custom(
            "`retry_if` needs a predicate: write `retry_if = some_fn`, where `some_fn` is a `fn(&E) -> bool`",
        ))
    }
}

/// `crate = "path"`: where the runtime crate is, when re-exported.
#[derive(Debug, Clone)]
pub(crate) struct CratePath(pub(crate) syn::Path);

impl FromMeta for CratePath {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        match expr {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => s
                .parse::<syn::Path>()
                .map(CratePath)
                .map_err(|_| {
                    Error::custom(format!(
                        "`{}` is not a path: write the path the runtime crate is re-exported at, e.g. `crate = \"my_crate::retry\"`",
                        s.value()
                    ))
                    .with_span(s)
                }),
            syn::Expr::Path(p) => Err(Error::custom(format!(
                "`crate` takes a string literal: write `crate = \"{}\"`",
                quote::ToTokens::to_token_stream(&p.path).to_string().replace(' ', "")
            ))
            .with_span(expr)),
            _ => Err(Error::custom(
                "`crate` takes the path of the runtime crate as a string, e.g. `crate = \"my_crate::retry\"`",
            )
            .with_span(&expr.span())),
        }
    }
}
