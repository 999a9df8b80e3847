//! Reading the function: its shape, its return type and its arguments, and the
//! compile-time rules that syntax alone can decide. The rules that need types
//! (a `Result` behind an alias, `Clone`, `Classify`, `From<Rejected>`) are trait
//! bounds that `expand` places on the user's own tokens.

use darling::Error;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{FnArg, ItemFn, Pat, PatIdent, Type};

use crate::attr::{Args, Hedge, Name};

/// Everything `expand` needs: the function with its signature prepared, and
/// how each argument is handed to each attempt.
pub(crate) struct Plan {
    pub(crate) function: ItemFn,
    pub(crate) krate: syn::Path,
    pub(crate) policy: String,
    pub(crate) breaker: Option<String>,
    pub(crate) budget: String,
    pub(crate) name: Option<String>,
    pub(crate) idempotent: bool,
    pub(crate) retry_if: Option<syn::Path>,
    /// The declared return type with `impl Trait` replaced by `_`, for the fake return edge.
    pub(crate) return_type: Type,
    /// Where a non-`Result` return type or an unfit error type is reported.
    pub(crate) error_span: Span,
    pub(crate) rebinds: Vec<Rebind>,
    /// Set when the body's `self` is renamed to a per-attempt binding.
    pub(crate) self_rebind: Option<Rebind>,
    /// A plain `fn`: attempts run in a closure, backoff sleeps block.
    pub(crate) sync: bool,
    /// `breaker_key = <expr>`: computed once per call, before the first attempt.
    pub(crate) breaker_key: Option<syn::Expr>,
    pub(crate) fallback: Option<FallbackPlan>,
    /// `hedge = "<name>"`: the attempts of a round may run at once.
    pub(crate) hedge: Option<String>,
}

/// `fallback = path`: what to call it with, and the signature it must have.
pub(crate) struct FallbackPlan {
    pub(crate) path: syn::Path,
    /// The function's arguments as the signature binds them, in order.
    pub(crate) args: Vec<TokenStream>,
    /// The signature the fallback must have, quoted, for the error message.
    pub(crate) expected: String,
}

/// How one argument is re-supplied to each attempt: `let <pattern> = <how>(<source>);`.
pub(crate) struct Rebind {
    pub(crate) pattern: TokenStream,
    pub(crate) source: syn::Ident,
    pub(crate) how: How,
    /// Where a missing `Clone` is reported: the argument's type.
    pub(crate) span: Span,
}

pub(crate) enum How {
    /// By-value: a fresh clone per attempt.
    Clone,
    /// `&mut T`: a reborrow per attempt.
    Reborrow,
    /// `Pin<&mut T>`: `Pin::as_mut` per attempt.
    PinReborrow,
    /// `&T` bound to a pattern or a `mut` binding: a copy of the reference.
    Copy,
}

/// Parses the item under the attribute. A bodiless trait method gets its own message.
pub(crate) fn parse_function(item: TokenStream) -> syn::Result<ItemFn> {
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => Ok(function),
        Err(error) => {
            if let Ok(method) = syn::parse2::<syn::TraitItemFn>(item)
                && method.default.is_none()
            {
                return Err(syn::Error::new(
                    method.sig.ident.span(),
                    format!(
                        "`#[retryable]` needs a body to retry, and `{}` has none: put the attribute on the method in each `impl` of the trait, or give the trait method a default body",
                        method.sig.ident
                    ),
                ));
            }
            Err(syn::Error::new(
                error.span(),
                format!("`#[retryable]` applies to `fn` and `async fn` items: {error}"),
            ))
        }
    }
}

/// Checks the rules and prepares the plan; on any error, returns the function
/// unchanged together with every error found.
pub(crate) fn check(
    function: ItemFn,
    args: Args,
    arg_errors: Option<Error>,
) -> Result<Plan, Box<(ItemFn, TokenStream)>> {
    let mut errors = Error::accumulator();
    if let Some(arg_errors) = arg_errors {
        errors.push(arg_errors);
    }
    let original = function.clone();
    let mut function = function;
    let idempotent = args.idempotent.is_present();
    let fn_name = function.sig.ident.to_string();

    check_shape(&function, &mut errors);
    let (return_type, error_span) = if returns_future(&function) {
        // `check_shape` said what to do; "must return a `Result`" would repeat it.
        let mut repeated = Error::accumulator();
        let checked = check_return_type(&function, &mut repeated);
        drop(repeated.finish());
        checked
    } else {
        check_return_type(&function, &mut errors)
    };

    if let Some(key) = &args.breaker_key
        && args.breaker.is_none()
    {
        errors.push(
            Error::custom(
                "`breaker_key` picks one instance of a named circuit breaker per key, and this function has no breaker: add `breaker = \"<name>\"` (e.g. `breaker = \"hosts\"`), whose settings every key's instance gets",
            )
            .with_span(&key.key_span),
        );
    }

    if let Some(hedge) = &args.hedge {
        check_hedge(&function, hedge, idempotent, &fn_name, &mut errors);
    }
    // A hedged function's `&mut` is refused by the hedging rule, whatever
    // `idempotent` says: rule 2 would only repeat it.
    let idempotent_or_hedged = idempotent || args.hedge.is_some();

    let mut rebinds = Vec::new();
    let mut self_rebind = None;
    let mut next_arg = 0usize;
    let mut fallback_args = Vec::new();
    for input in &mut function.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                self_rebind =
                    receiver_rebind(receiver, idempotent_or_hedged, &fn_name, &mut errors);
                let self_token = receiver.self_token;
                fallback_args.push(quote::quote!(#self_token));
            }
            FnArg::Typed(typed) => {
                let index = next_arg;
                next_arg += 1;
                if let Some(rebind) =
                    typed_rebind(typed, index, idempotent_or_hedged, &fn_name, &mut errors)
                {
                    rebinds.push(rebind);
                }
                if args.fallback.is_some() {
                    fallback_args.push(fallback_arg(typed, index));
                }
            }
        }
    }
    let fallback = args.fallback.map(|f| FallbackPlan {
        expected: expected_fallback(&original.sig, &f.0),
        path: f.0,
        args: fallback_args,
    });

    if let Err(error) = errors.finish() {
        let mut original = original;
        // `const` is reported above; dropping it spares the user rustc's
        // "functions cannot be both `const` and `async`" as well.
        original.sig.constness = None;
        return Err(Box::new((original, error.write_errors())));
    }

    let sync = function.sig.asyncness.is_none();
    Ok(Plan {
        function,
        krate: args
            .krate
            .map_or_else(|| syn::parse_quote!(::retry_runtime), |c| c.0),
        policy: name_or(args.policy.as_ref(), "default"),
        breaker: args.breaker.map(|n| n.value),
        budget: name_or(args.budget.as_ref(), "default"),
        name: args.name.map(|n| n.value),
        idempotent,
        retry_if: args.retry_if.map(|r| r.0),
        return_type,
        error_span,
        rebinds,
        self_rebind,
        sync,
        breaker_key: args.breaker_key.map(|k| k.expr),
        fallback,
        hedge: args.hedge.map(|h| h.name),
    })
}

/// The three hedging rules (DESIGN §13): `idempotent`, no `&mut` lent to
/// attempts that run at once, `async fn` only.
fn check_hedge(
    function: &ItemFn,
    hedge: &Hedge,
    idempotent: bool,
    fn_name: &str,
    errors: &mut darling::error::Accumulator,
) {
    let name = &hedge.name;
    if !idempotent {
        errors.push(
            Error::custom(format!(
                "`hedge` needs `idempotent`: a hedge repeats the request while the first attempt may still succeed, so both may take effect; add `idempotent` (`#[retryable(hedge = \"{name}\", idempotent)]`) if running `{fn_name}` twice at once is safe, or remove `hedge`"
            ))
            .with_span(&hedge.span),
        );
    }
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(
            Error::custom(format!(
                "`hedge` needs an `async fn`: a sync attempt holds its thread until it ends, so no hedge can run beside it; make `{fn_name}` an `async fn`, or remove `hedge`"
            ))
            .with_span(&sig.fn_token),
        );
    }
    let concurrent = "hedged attempts run at the same time, and one `&mut` cannot be lent to two of them, even with `idempotent`";
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                let what = if receiver.reference.is_some() {
                    "`&mut self`"
                } else {
                    "`self: Pin<&mut Self>`"
                };
                if let Some(at) = mut_span(&receiver.ty) {
                    errors.push(
                        Error::custom(format!(
                            "`hedge` cannot lend {what} to its attempts: {concurrent}; take `&self` (with interior mutability for state that must change), or remove `hedge`"
                        ))
                        .with_span(&at),
                    );
                }
            }
            FnArg::Typed(typed) => {
                if let Some(at) = mut_span(&typed.ty) {
                    let shared = match &*typed.ty {
                        Type::Reference(r) => format!("&{}", shown(&r.elem)),
                        _ => "a shared reference".to_owned(),
                    };
                    let arg = match &*typed.pat {
                        Pat::Ident(p) => format!("the `&mut` argument `{}`", p.ident),
                        _ => "a `&mut` argument".to_owned(),
                    };
                    errors.push(
                        Error::custom(format!(
                            "`hedge` cannot lend {arg} to its attempts: {concurrent}; take `{shared}` (with interior mutability for state that must change), or remove `hedge`"
                        ))
                        .with_span(&at),
                    );
                }
            }
        }
    }
}

/// How the fallback receives an argument: by the name the signature binds it
/// to. A `_` argument is given one, so that it can be passed on.
fn fallback_arg(typed: &mut syn::PatType, index: usize) -> TokenStream {
    if let Pat::Wild(wild) = &*typed.pat {
        let ident = format_ident!(
            "__arg{}",
            index,
            span = Span::mixed_site().located_at(wild.span())
        );
        *typed.pat = syn::parse_quote!(#ident);
    }
    match &*typed.pat {
        Pat::Ident(p) => p.ident.to_token_stream(),
        // Every other pattern was renamed by `typed_rebind`.
        pat => pat.to_token_stream(),
    }
}

/// The signature a fallback of `sig` must have, as a person writes it:
/// `async fn(&self, key: &str, error: StoreError) -> Result<String, StoreError>`.
fn expected_fallback(sig: &syn::Signature, path: &syn::Path) -> String {
    let mut params: Vec<String> = sig
        .inputs
        .iter()
        .map(|input| shown(input).replace(" : ", ": "))
        .collect();
    let (error, output, alias) = match &sig.output {
        syn::ReturnType::Default => ("E".to_owned(), "()".to_owned(), None),
        syn::ReturnType::Type(_, ty) => {
            let error = match &**ty {
                Type::Path(p) => p.path.segments.last().and_then(|s| match &s.arguments {
                    syn::PathArguments::AngleBracketed(a)
                        if s.ident == "Result" && a.args.len() == 2 =>
                    {
                        a.args.last().map(shown)
                    }
                    _ => None,
                }),
                _ => None,
            };
            match error {
                Some(error) => (error, shown(ty), None),
                None => ("E".to_owned(), shown(ty), Some(shown(ty))),
            }
        }
    };
    params.push(format!("error: {error}"));
    let asyncness = if sig.asyncness.is_some() {
        "async "
    } else {
        ""
    };
    let name = path
        .segments
        .last()
        .map_or_else(String::new, |s| s.ident.to_string());
    let signature = format!("{asyncness}fn {name}({}) -> {output}", params.join(", "));
    match alias {
        Some(alias) => format!("`{signature}` (where `E` is the error type of `{alias}`)"),
        None => format!("`{signature}`"),
    }
}

fn name_or(name: Option<&Name>, default: &str) -> String {
    name.map_or_else(|| default.to_owned(), |n| n.value.clone())
}

/// A sync `fn` whose return type names a future.
fn returns_future(function: &ItemFn) -> bool {
    function.sig.asyncness.is_none()
        && function
            .sig
            .output
            .to_token_stream()
            .to_string()
            .contains("Future")
}

fn check_shape(function: &ItemFn, errors: &mut darling::error::Accumulator) {
    let sig = &function.sig;
    if let Some(constness) = &sig.constness {
        errors.push(Error::custom("`#[retryable]` cannot apply to a `const fn`: a retry loop sleeps between attempts, which a `const fn` cannot do; remove `const`").with_span(constness));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::custom("`#[retryable]` cannot apply to an `extern` function: remove the ABI, and call the retryable function from an `extern` wrapper if foreign code needs it").with_span(abi));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(
            Error::custom(
                "`#[retryable]` cannot re-supply C variadic arguments to a second attempt",
            )
            .with_span(variadic),
        );
    }
    if sig.asyncness.is_none() {
        let output = sig.output.to_token_stream().to_string();
        let rewritten_by_async_trait = sig
            .generics
            .lifetimes()
            .any(|l| l.lifetime.ident == "async_trait")
            || output.contains("async_trait");
        if rewritten_by_async_trait {
            errors.push(Error::custom(format!(
                "`#[async_trait]` has already turned `{}` into a fn returning a boxed future, which `#[retryable]` cannot retry: remove `#[async_trait]` from the trait and this impl (traits have `async fn` since Rust 1.75), or put `#[retryable]` on an inherent `async fn` that this method calls",
                sig.ident
            )).with_span(&sig.fn_token));
        } else if returns_future(function) {
            // A sync fn returning a future: retrying would retry building the
            // future, not the work it does.
            errors.push(Error::custom(format!(
                "`{}` returns a future, so `#[retryable]` would retry creating it, not the work it does: write `async fn {}` returning the `Result` itself",
                sig.ident, sig.ident
            )).with_span(&sig.output));
        }
    }
}

/// Names that are certainly not `Result` when they end a return type's path.
const NOT_RESULT: &[&str] = &[
    "Option",
    "Vec",
    "String",
    "Box",
    "Rc",
    "Arc",
    "Poll",
    "ControlFlow",
    "HashMap",
    "BTreeMap",
    "HashSet",
    "BTreeSet",
    "VecDeque",
    "Cow",
    "bool",
    "char",
    "str",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
];

fn check_return_type(function: &ItemFn, errors: &mut darling::error::Accumulator) -> (Type, Span) {
    let sig = &function.sig;
    let ty = match &sig.output {
        syn::ReturnType::Default => {
            errors.push(
                Error::custom(format!(
                    "`#[retryable]` functions must return a `Result`, and `{}` returns `()`: the retry loop needs `Err` to tell a failure from a success; return `Result<(), E>` where `E` says which failures are transient",
                    sig.ident
                ))
                .with_span(&sig.ident),
            );
            return (syn::parse_quote!(()), sig.ident.span());
        }
        syn::ReturnType::Type(_, ty) => &**ty,
    };
    let certainly_not_result = match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| NOT_RESULT.contains(&s.ident.to_string().as_str())),
        Type::Group(_) | Type::Paren(_) | Type::Macro(_) | Type::Verbatim(_) | Type::Path(_) => {
            false
        }
        _ => true,
    };
    if certainly_not_result {
        let shown = shown(ty);
        errors.push(
            Error::custom(format!(
                "`#[retryable]` functions must return a `Result`, not `{shown}`: the retry loop needs `Err` to tell a failure from a success; return `Result<_, E>` (or an alias such as `std::io::Result<_>`) where `E` says which failures are transient"
            ))
            .with_span(ty),
        );
    }
    // The error type, when it is spelled out, is where `Classify` and
    // `From<Rejected>` are reported; behind an alias, the whole return type.
    let error_span = match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .and_then(|s| match &s.arguments {
                syn::PathArguments::AngleBracketed(a)
                    if s.ident == "Result" && a.args.len() == 2 =>
                {
                    a.args.last().map(Spanned::span)
                }
                _ => None,
            })
            .unwrap_or_else(|| ty.span()),
        _ => ty.span(),
    };
    let mut return_type = ty.clone();
    ImplToInfer.visit_type_mut(&mut return_type);
    (return_type, error_span)
}

/// `impl Trait` cannot be written in a `let`; `_` lets inference fill it in.
struct ImplToInfer;

impl VisitMut for ImplToInfer {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(it) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](it.span()),
            });
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// Rule 2. `instead` is the shared-reference alternative; `span` is the `mut` of the `&mut`.
fn needs_idempotent(what: &str, fn_name: &str, instead: &str, span: Span) -> Error {
    Error::custom(format!(
        "{what} lets an attempt change state that the next attempt sees: add `idempotent` (`#[retryable(idempotent)]`) if repeating `{fn_name}` is safe, or {instead}"
    ))
    .with_span(&span)
}

/// Tokens as a person writes them: `Option<()>`, not `Option < () >`.
fn shown(tokens: &impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// The `mut` of `&mut T`, or of the `&mut T` inside `Pin<&mut T>`.
fn mut_span(ty: &Type) -> Option<Span> {
    match ty {
        Type::Reference(r) => r.mutability.map(|m| m.span),
        Type::Path(p) => p.path.segments.last().and_then(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::Type(t) => mut_span(t),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    }
}

fn self_ident(span: Span) -> syn::Ident {
    syn::Ident::new("__self", span.resolved_at(Span::mixed_site()))
}

fn receiver_rebind(
    receiver: &mut syn::Receiver,
    idempotent: bool,
    fn_name: &str,
    errors: &mut darling::error::Accumulator,
) -> Option<Rebind> {
    let span = receiver.self_token.span;
    let how = match &*receiver.ty {
        Type::Reference(r) if r.mutability.is_some() => {
            if !idempotent {
                let at = mut_span(&receiver.ty).unwrap_or(span);
                errors.push(needs_idempotent("`&mut self`", fn_name, "take `&self`", at));
            }
            How::Reborrow
        }
        Type::Reference(_) => return None,
        ty if is_pin_mut(ty) => {
            if !idempotent {
                errors.push(needs_idempotent(
                    "`self: Pin<&mut Self>`",
                    fn_name,
                    "take `&self`",
                    mut_span(&receiver.ty).unwrap_or(span),
                ));
            }
            // `Pin::as_mut` needs a mutable binding.
            receiver.mutability = Some(syn::Token![mut](span));
            return Some(Rebind {
                pattern: self_ident(span).into_token_stream(),
                source: syn::Ident::new("self", span),
                how: How::PinReborrow,
                span,
            });
        }
        _ => How::Clone,
    };
    // `mut self: T` binds mutably; in `&mut self`, `mut` belongs to the reference.
    let mutability = if receiver.reference.is_none() {
        receiver.mutability.take()
    } else {
        None
    };
    let ty_span = if receiver.colon_token.is_some() {
        receiver.ty.span()
    } else {
        span
    };
    let ident = self_ident(span);
    Some(Rebind {
        pattern: quote::quote!(#mutability #ident),
        source: syn::Ident::new("self", span),
        how,
        span: ty_span,
    })
}

fn is_pin_mut(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    if last.ident != "Pin" {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    matches!(
        args.args.first(),
        Some(syn::GenericArgument::Type(Type::Reference(r))) if r.mutability.is_some()
    )
}

/// Whether the type is a one-shot callable: `impl FnOnce(..)` or `Box<dyn FnOnce(..)>`.
fn is_fn_once(ty: &Type) -> bool {
    let bounds_have_fn_once =
        |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
            bounds.iter().any(|b| match b {
                syn::TypeParamBound::Trait(t) => {
                    t.path.segments.last().is_some_and(|s| s.ident == "FnOnce")
                }
                _ => false,
            })
        };
    match ty {
        Type::ImplTrait(it) => bounds_have_fn_once(&it.bounds),
        Type::TraitObject(to) => bounds_have_fn_once(&to.bounds),
        Type::Paren(p) => is_fn_once(&p.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| {
            s.ident == "Box"
                && matches!(&s.arguments, syn::PathArguments::AngleBracketed(a)
                    if matches!(a.args.first(), Some(syn::GenericArgument::Type(t)) if is_fn_once(t)))
        }),
        _ => false,
    }
}

fn typed_rebind(
    typed: &mut syn::PatType,
    index: usize,
    idempotent: bool,
    fn_name: &str,
    errors: &mut darling::error::Accumulator,
) -> Option<Rebind> {
    let ty = &*typed.ty;
    let ty_span = ty.span();
    if matches!(&*typed.pat, Pat::Wild(_)) {
        return None;
    }
    let how = match ty {
        Type::Reference(r) if r.mutability.is_some() => {
            if !idempotent {
                let shared = format!("&{}", shown(&r.elem));
                let (what, instead) = match &*typed.pat {
                    Pat::Ident(p) => (
                        format!("the `&mut` argument `{}`", p.ident),
                        format!("take `{}: {shared}`", p.ident),
                    ),
                    _ => ("a `&mut` argument".to_owned(), format!("take `{shared}`")),
                };
                let at = r.mutability.map_or(ty_span, |m| m.span);
                errors.push(needs_idempotent(&what, fn_name, &instead, at));
            }
            How::Reborrow
        }
        Type::Reference(_) => How::Copy,
        ty if is_pin_mut(ty) => {
            if !idempotent {
                errors.push(needs_idempotent(
                    "a `Pin<&mut _>` argument",
                    fn_name,
                    "take a shared reference",
                    mut_span(ty).unwrap_or(ty_span),
                ));
            }
            How::PinReborrow
        }
        ty if is_fn_once(ty) => {
            errors.push(
                Error::custom(format!(
                    "`{}` is a `FnOnce`: it can be called once, but every attempt of `{fn_name}` needs it again; take `impl Fn(..) + Clone` (or `&impl Fn(..)`) instead",
                    shown(&*typed.pat)
                ))
                .with_span(ty),
            );
            return None;
        }
        _ => How::Clone,
    };
    match &mut *typed.pat {
        // `x: T` or `mut x: T`: the signature keeps `x`; each attempt binds its own `x`.
        Pat::Ident(PatIdent {
            by_ref: None,
            subpat: None,
            mutability,
            ident,
            ..
        }) => {
            if matches!(how, How::Copy) && mutability.is_none() {
                // A shared reference the body cannot reassign: nothing to do.
                return None;
            }
            let binding_mut = mutability.take();
            let pattern = quote::quote!(#binding_mut #ident);
            let source = syn::Ident::new(
                &ident.to_string(),
                Span::call_site().located_at(ident.span()),
            );
            if matches!(how, How::PinReborrow) {
                // `Pin::as_mut` borrows the argument mutably.
                *mutability = Some(syn::Token![mut](ident.span()));
            }
            Some(Rebind {
                pattern,
                source,
                how,
                span: ty_span,
            })
        }
        // Any other pattern: the signature takes a plain argument; each attempt destructures its own copy.
        pat => {
            let pattern = pat.to_token_stream();
            let source = format_ident!(
                "__arg{}",
                index,
                span = Span::mixed_site().located_at(pat.span())
            );
            let binding_mut = matches!(how, How::PinReborrow).then(|| syn::Token![mut](pat.span()));
            *pat = syn::parse_quote!(#binding_mut #source);
            Some(Rebind {
                pattern,
                source,
                how,
                span: ty_span,
            })
        }
    }
}
