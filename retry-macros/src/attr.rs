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
    pub(crate) breaker_key: Option<BreakerKey>,
    pub(crate) fallback: Option<Fallback>,
    pub(crate) hedge: Option<Hedge>,
}

/// The keys, as DESIGN §3 lists them.
const KEYS: &[&str] = &[
    "policy",
    "breaker",
    "budget",
    "idempotent",
    "retry_if",
    "name",
    "crate",
    "breaker_key",
    "fallback",
    "hedge",
];

impl Args {
    /// Parses the attribute's arguments. Returns what could be read, and every
    /// mistake: the keys that were right still count, so a typo elsewhere does
    /// not also report `&mut self` as lacking `idempotent`.
    pub(crate) fn parse(tokens: TokenStream) -> (Args, Option<Error>) {
        let items = match NestedMeta::parse_meta_list(tokens) {
            Ok(items) => items,
            Err(error) => return (Args::default(), Some(error.into())),
        };
        let mut errors = Error::accumulator();
        let mut seen: Vec<String> = Vec::new();
        let mut good = Vec::new();
        let mut idempotent_with_value = false;
        for item in items {
            let meta = match &item {
                NestedMeta::Meta(meta) => meta,
                NestedMeta::Lit(lit) => {
                    errors.push(positional(lit));
                    continue;
                }
            };
            let key = key_of(meta.path());
            if !KEYS.contains(&key.as_str()) {
                errors.push(unknown_key(&key).with_span(meta.path()));
                continue;
            }
            if seen.contains(&key) {
                let message = if key == "idempotent" {
                    "`idempotent` is written twice: once is enough".to_owned()
                } else {
                    format!("`{key}` is set twice: keep one `{key} = ...`")
                };
                errors.push(Error::custom(message).with_span(meta.path()));
                continue;
            }
            seen.push(key.clone());
            if key == "idempotent" && !matches!(meta, syn::Meta::Path(_)) {
                idempotent_with_value = !is_false(meta);
                errors.push(flag_with_value(meta));
                continue;
            }
            if let syn::Meta::List(list) = meta {
                errors.push(
                    Error::custom(format!(
                        "write `{key} = ...`, not `{key}(...)`: e.g. `{key} = {}`",
                        example(&key)
                    ))
                    .with_span(&list.path),
                );
                continue;
            }
            // Each key alone first, so that errors come in the order they were written.
            if errors
                .handle(Args::from_list(std::slice::from_ref(&item)))
                .is_some()
            {
                good.push(item);
            }
        }
        let mut args = errors.handle(Args::from_list(&good)).unwrap_or_default();
        if idempotent_with_value {
            // The intent is clear: report the spelling, not `&mut self` as well.
            args.idempotent = Flag::present();
        }
        (args, errors.finish().err())
    }
}

fn key_of(path: &syn::Path) -> String {
    quote::ToTokens::to_token_stream(path)
        .to_string()
        .replace(' ', "")
}

/// A value for `key`, as it would be written after `key = `.
fn example(key: &str) -> &'static str {
    match key {
        "policy" => "\"network\"",
        "breaker" => "\"s3\"",
        "budget" => "\"batch\"",
        "name" => "\"store.get\"",
        "retry_if" => "is_transient",
        "crate" => "\"my_crate::retry\"",
        "breaker_key" => "host",
        "fallback" => "cached_value",
        "hedge" => "\"search\"",
        _ => "...",
    }
}

/// Settings that belong in the config file, by the table they belong to.
const CONFIG_SETTINGS: &[(&str, &[&str])] = &[
    (
        "policy",
        &[
            "max_attempts",
            "backoff",
            "initial_delay",
            "multiplier",
            "max_delay",
            "jitter",
            "max_elapsed",
            "attempt_timeout",
            "base",
        ],
    ),
    (
        "breaker",
        &[
            "window",
            "window_size",
            "window_duration",
            "failure_rate_threshold",
            "slow_call_duration",
            "slow_call_rate_threshold",
            "minimum_calls",
            "open_duration",
            "half_open_calls",
        ],
    ),
    ("budget", &["ttl", "min_retries_per_sec", "retry_ratio"]),
    ("hedge", &["delay", "max_hedges", "min_samples"]),
];

fn unknown_key(key: &str) -> Error {
    if let Some((table, _)) = CONFIG_SETTINGS
        .iter()
        .find(|(_, settings)| settings.contains(&key))
    {
        let plural = if *table == "policy" {
            "policies".to_owned()
        } else {
            format!("{table}s")
        };
        return Error::custom(format!(
            "`{key}` is a {table} setting, and settings live in the config file, not in the attribute: set it under `[{plural}.<name>]` and write `{table} = \"<name>\"` here"
        ));
    }
    let close = KEYS
        .iter()
        .copied()
        .filter(|known| {
            known.eq_ignore_ascii_case(key) || edit_distance(known, &key.to_ascii_lowercase()) <= 2
        })
        .min_by_key(|known| edit_distance(known, key));
    match close {
        Some(known) => Error::custom(format!("unknown key `{key}`: did you mean `{known}`?")),
        None => Error::custom(format!(
            "unknown key `{key}`: the keys are `policy`, `breaker`, `budget`, `idempotent`, `retry_if`, `name`, `crate`, `breaker_key`, `fallback` and `hedge`"
        )),
    }
}

/// Levenshtein distance; the keys are short.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

fn positional(lit: &syn::Lit) -> Error {
    let message = match lit {
        syn::Lit::Str(s) => format!(
            "a bare string is not a key: write `policy = \"{0}\"` to use the retry policy `{0}` (or `breaker = \"{0}\"`, `budget = \"{0}\"`)",
            s.value()
        ),
        _ => "expected `key = value` pairs or the flag `idempotent`, e.g. `#[retryable(policy = \"network\", idempotent)]`".to_owned(),
    };
    Error::custom(message).with_span(lit)
}

fn is_false(meta: &syn::Meta) -> bool {
    matches!(
        meta,
        syn::Meta::NameValue(syn::MetaNameValue {
            value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }),
            ..
        }) if !b.value
    )
}

fn flag_with_value(meta: &syn::Meta) -> Error {
    let message = if is_false(meta) {
        "`idempotent` takes no value, and a function is not idempotent unless the attribute says so: remove `idempotent = false`"
    } else {
        "`idempotent` is a flag and takes no value: write `idempotent` alone"
    };
    Error::custom(message).with_span(meta)
}

/// A non-empty string literal naming a policy, breaker, budget or call site.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub(crate) value: String,
}

impl FromMeta for Name {
    /// Overridden to know the key, so each message can name it.
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        let key = key_of(item.path());
        match item {
            syn::Meta::NameValue(nv) => Name::from_key_expr(&key, &nv.value),
            _ => Err(Error::custom(format!(
                "`{key}` needs a value: write `{key} = {}`",
                example(&key)
            ))
            .with_span(item)),
        }
    }
}

impl Name {
    fn from_key_expr(key: &str, expr: &syn::Expr) -> darling::Result<Self> {
        let (what, without) = match key {
            "policy" => (
                "a retry policy in the config file",
                "use the `default` policy",
            ),
            "breaker" => (
                "a circuit breaker in the config file",
                "call without a breaker",
            ),
            "budget" => (
                "a retry budget in the config file",
                "use the `default` budget",
            ),
            "hedge" => ("a hedge in the config file", "call without hedging"),
            _ => (
                "this call site in logs and metrics",
                "use `module_path::fn_name`",
            ),
        };
        let example = example(key);
        match ungroup(expr) {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => {
                let value = s.value();
                if value.trim().is_empty() {
                    return Err(Error::custom(format!(
                        "`{key}` is empty: write the name of {what}, e.g. `{key} = {example}`, or remove the key to {without}"
                    ))
                    .with_span(s));
                }
                if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(Error::custom(format!(
                        "`{key}` contains white space, which names cannot: did you mean `{key} = \"{}\"`?",
                        value.split_whitespace().collect::<Vec<_>>().join("-")
                    ))
                    .with_span(s));
                }
                Ok(Name { value })
            }
            syn::Expr::Path(p) => Err(Error::custom(format!(
                "`{key}` takes a string literal: write `{key} = \"{}\"`",
                p.path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default()
            ))
            .with_span(expr)),
            syn::Expr::Lit(syn::ExprLit { lit, .. }) => Err(Error::custom(format!(
                "`{key}` takes a string literal naming {what}: write `{key} = \"{}\"`",
                quote::ToTokens::to_token_stream(lit)
            ))
            .with_span(expr)),
            _ => Err(Error::custom(format!(
                "`{key}` takes a string literal naming {what}, e.g. `{key} = {example}`"
            ))
            .with_span(expr)),
        }
    }
}

/// `hedge = "<name>"`, with where the key is written (the hedging rules point there).
#[derive(Debug)]
pub(crate) struct Hedge {
    pub(crate) name: String,
    pub(crate) span: proc_macro2::Span,
}

impl FromMeta for Hedge {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        Name::from_meta(item).map(|name| Hedge {
            name: name.value,
            span: item.path().span(),
        })
    }
}

/// `retry_if = path::to::predicate` (a path, not a string).
#[derive(Debug, Clone)]
pub(crate) struct RetryIf(pub(crate) syn::Path);

impl FromMeta for RetryIf {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        match ungroup(expr) {
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
        match ungroup(expr) {
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

/// A value passed through a `macro_rules!` fragment (`$name:literal`, `$p:path`)
/// arrives wrapped in an invisible group: look through it.
fn ungroup(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Group(group) => ungroup(&group.expr),
        other => other,
    }
}

/// `breaker_key = <expr>`: an expression over the arguments whose text picks
/// the keyed instance of the breaker.
#[derive(Debug, Clone)]
pub(crate) struct BreakerKey {
    pub(crate) expr: syn::Expr,
    /// The `breaker_key` of `breaker_key = ...`, where a missing `breaker` is reported.
    pub(crate) key_span: proc_macro2::Span,
}

impl FromMeta for BreakerKey {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        match item {
            syn::Meta::NameValue(nv) => match ungroup(&nv.value) {
                syn::Expr::Closure(_) => Err(Error::custom(
                    "`breaker_key` takes an expression whose value is the key, not a closure: write the closure's body, e.g. `breaker_key = url.host_str().unwrap_or(\"\")`",
                )
                .with_span(&nv.value)),
                value => Ok(BreakerKey {
                    expr: value.clone(),
                    key_span: nv.path.span(),
                }),
            },
            _ => Err(Error::custom(
                "`breaker_key` needs a value: an expression over the arguments, e.g. `breaker_key = host`",
            )
            .with_span(item)),
        }
    }
}

/// `fallback = path::to::function` (or `Self::method`).
#[derive(Debug, Clone)]
pub(crate) struct Fallback(pub(crate) syn::Path);

impl FromMeta for Fallback {
    fn from_expr(expr: &syn::Expr) -> darling::Result<Self> {
        match ungroup(expr) {
            syn::Expr::Path(p) if p.qself.is_none() => Ok(Fallback(p.path.clone())),
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => {
                Err(Error::custom(format!(
                    "`fallback` takes a path to a function, not a string: write `fallback = {}`",
                    s.value()
                ))
                .with_span(s))
            }
            syn::Expr::Closure(_) => Err(Error::custom(
                "`fallback` takes a path to a function, not a closure: move the closure into a named `async fn` taking the function's arguments and then its error, and write `fallback = that_fn`",
            )
            .with_span(expr)),
            _ => Err(Error::custom(
                "`fallback` takes a path to a function (or `Self::method`), e.g. `fallback = cached_value`",
            )
            .with_span(expr)),
        }
    }

    fn from_word() -> darling::Result<Self> {
        Err(Error::custom(
            "`fallback` needs a function: write `fallback = some_fn`, where `some_fn` takes this function's arguments and then its error",
        ))
    }
}
