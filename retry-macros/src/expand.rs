//! Generating the retry loop. See `examples/expanded.rs` for the output on one
//! function, commented line by line.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit_mut::VisitMut;

use crate::check::{FallbackPlan, How, Plan, Rebind};
use crate::self_rename::RenameSelf;

pub(crate) fn expand(plan: Plan) -> TokenStream {
    let Plan {
        mut function,
        krate,
        policy,
        breaker,
        budget,
        name,
        idempotent,
        retry_if,
        return_type,
        error_span,
        rebinds,
        self_rebind,
        sync,
        breaker_key,
        fallback,
        hedge,
    } = plan;
    let private = quote!(#krate::__private);
    let fn_ident = &function.sig.ident;

    // Made-up names are mixed-site: the body cannot see them, nor they the body's.
    let mixed = Span::mixed_site();
    let site = syn::Ident::new("__RETRY_SITE", mixed);
    let register = syn::Ident::new("__RETRY_REGISTER", mixed);
    let controller = syn::Ident::new("__retry", mixed);
    let attempt = syn::Ident::new("__attempt", mixed);
    let output = syn::Ident::new("__output", mixed);
    let error = syn::Ident::new("__error", mixed);
    let rejected = syn::Ident::new("__rejected", mixed);
    let fake = syn::Ident::new("__fake_return", mixed);
    let step_ident = syn::Ident::new("__step", mixed);

    let name = match name {
        Some(name) => quote!(#name),
        None => {
            let fn_name = fn_ident.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #fn_name))
        }
    };
    let breaker = match breaker {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let line = quote_spanned!(fn_ident.span()=> ::core::line!());

    if self_rebind.is_some() {
        RenameSelf(syn::Ident::new("__self", mixed)).visit_block_mut(&mut function.block);
    }

    // An argument that the body leaves unused but the key or the fallback
    // uses is used: its per-attempt copy must not warn.
    let key_tokens = breaker_key.as_ref().map(quote::ToTokens::to_token_stream);
    let rebinds = self_rebind.iter().chain(&rebinds).map(|r| {
        let used_elsewhere = fallback.is_some()
            || key_tokens
                .as_ref()
                .is_some_and(|key| mentions(key.clone(), &r.source.to_string()));
        let binding = rebind(r, &private);
        if used_elsewhere {
            quote!(#[allow(unused_variables)] #binding)
        } else {
            binding
        }
    });
    let body = &function.block.stmts;

    // A missing `Classify` or `From<Rejected>` is reported at the call, its
    // path and its argument: give them the error type's location (each token
    // keeps its hygiene).
    let private_at = relocate(private.clone(), error_span);
    let error_at = syn::Ident::new("__error", mixed.located_at(error_span));
    let rejected_at = syn::Ident::new("__rejected", mixed.located_at(error_span));
    let classify = match &retry_if {
        Some(predicate) => {
            quote_spanned!(predicate.span_of()=> #private::retry_if(#error, #predicate))
        }
        None => quote_spanned!(error_span=> #private_at::classify(#error_at)),
    };
    let from_rejected =
        quote_spanned!(error_span=> #private_at::FromRejected::from_rejected(#rejected_at));
    // The whole call, `.await` included, is located at the return type too:
    // rustc then reports a non-`Result` return type once, there, not three times.
    let controller_at = syn::Ident::new("__retry", mixed.located_at(error_span));
    let attempt_at = syn::Ident::new("__attempt", mixed.located_at(error_span));
    let describe = quote!(|#error| {
        #[allow(unused_imports)]
        use #private::{DescribeDebug as _, DescribeDisplay as _, DescribeOpaque as _};
        (&&#private::Describe(#error)).describe()
    });
    let attempt_body = quote! {
        #(#rebinds)*
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #return_type = loop {};
            return #fake;
        }
        #(#body)*
    };
    let pending = syn::Ident::new("__pending", mixed);
    let (step, pause) = if sync {
        // A sync attempt is a fresh non-`move` closure that borrows the
        // arguments, called once: `return` in the body ends the attempt.
        let run = quote_spanned!(error_span.resolved_at(mixed)=>
            #controller_at.attempt_sync(
                || { #attempt_body },
                |#error| #classify,
                |#rejected| #from_rejected,
                #describe,
            )
        );
        let pause = quote_spanned!(error_span.resolved_at(mixed)=>
            #controller_at.pause_sync(#pending, #describe)
        );
        (run, pause)
    } else if hedge.is_some() {
        // Attempts may run at once: a non-`move` closure makes each one, a
        // fresh async block borrowing the arguments like an unhedged attempt.
        let run = quote_spanned!(error_span.resolved_at(mixed)=>
            #controller_at.hedged(
                #attempt_at,
                |#error| #classify,
                |#rejected| #from_rejected,
                #describe,
            )
        );
        let awaited = quote_spanned!(error_span.resolved_at(mixed)=> #run.await);
        let step = quote! {{
            let #attempt = || async { #attempt_body };
            #awaited
        }};
        let pause = quote_spanned!(error_span.resolved_at(mixed)=>
            #controller_at.pause(#pending, #describe).await
        );
        (step, pause)
    } else {
        let run = quote_spanned!(error_span.resolved_at(mixed)=>
            #controller_at.attempt(
                #attempt_at,
                |#error| #classify,
                |#rejected| #from_rejected,
                #describe,
            )
        );
        let awaited = quote_spanned!(error_span.resolved_at(mixed)=> #run.await);
        // The attempt lives in this block alone: it is dropped (with whatever
        // it holds) as soon as its outcome is known, before the backoff sleep.
        let step = quote! {{
            let #attempt = ::core::pin::pin!(async { #attempt_body });
            #awaited
        }};
        let pause = quote_spanned!(error_span.resolved_at(mixed)=>
            #controller_at.pause(#pending, #describe).await
        );
        (step, pause)
    };
    let site_value = quote! {
        #private::CallSite::new(
            #name,
            ::core::module_path!(),
            ::core::file!(),
            #line,
            #policy,
            #breaker,
            #budget,
            #idempotent,
        )
    };
    let site_value = if sync {
        quote!(#site_value.synchronous())
    } else {
        site_value
    };
    let site_value = match &hedge {
        Some(hedge) => quote!(#site_value.hedged(#hedge)),
        None => site_value,
    };

    // With a key, the call takes its breaker instance once, before the first
    // attempt; the expression may borrow the arguments (the borrow ends here).
    // A value that cannot be displayed is reported at the expression.
    let start = match &breaker_key {
        None => quote!(#private::Controller::start(&#site)),
        Some(key) => {
            // Autoref specialization: a key that is text already (`&str`,
            // `String`, ...) is looked up without formatting; any other
            // `Display` type through its `Display` output.
            let span = syn::spanned::Spanned::span(key);
            let private_at = relocate(private.clone(), span);
            let site_at = syn::Ident::new("__RETRY_SITE", mixed.located_at(span));
            let probe = syn::Ident::new("__key_probe", span);
            quote_spanned! {span=> {
                #[allow(unused_imports)]
                use #private_at::{KeyByDisplay as _, KeyByText as _};
                let #probe = #private_at::KeyProbe(&(#key));
                (&#probe).start_keyed(&#site_at)
            }}
        }
    };
    // Without a fallback, the loop returns; with one, it breaks out with the
    // result, which the fallback replaces if it is an error.
    let label = syn::Lifetime::new("'__retry", mixed);
    let exit = if fallback.is_some() {
        quote!(break #label)
    } else {
        quote!(return)
    };
    let retry_loop = quote! {
        let mut #controller = #start;
        loop {
            let #step_ident = #step;
            match #step_ident {
                #private::ControlFlow::Break(#output) => #exit #output,
                #private::ControlFlow::Continue(#pending) => match #pause {
                    #private::ControlFlow::Break(#output) => #exit #output,
                    #private::ControlFlow::Continue(()) => {}
                },
            }
        }
    };
    let retry_loop = match &fallback {
        None => retry_loop,
        Some(plan) => with_fallback(plan, &retry_loop, &label, &return_type, &private, sync),
    };

    function.block = syn::parse_quote!({
        static #site: #private::CallSite = #site_value;
        #[#private::linkme::distributed_slice(#private::CALL_SITES)]
        #[linkme(crate = #private::linkme)]
        static #register: &'static #private::CallSite = &#site;

        #retry_loop
    });
    quote!(#function)
}

/// The retry loop as a labeled block whose value is the call's result, then
/// the fallback in place of an error. The fallback's signature is checked by a
/// trait local to the function, implemented for every `AsyncFn` of the right
/// arguments and output, whose message (written here, with the signature
/// spelled out) is reported at the fallback's path.
fn with_fallback(
    plan: &FallbackPlan,
    retry_loop: &TokenStream,
    label: &syn::Lifetime,
    return_type: &syn::Type,
    private: &TokenStream,
    sync: bool,
) -> TokenStream {
    let FallbackPlan {
        path,
        args,
        expected,
    } = plan;
    let mixed = Span::mixed_site();
    let outcome = syn::Ident::new("__outcome", mixed);
    let value = syn::Ident::new("__value", mixed);
    let error = syn::Ident::new("__error", mixed);
    let fallback_trait = syn::Ident::new("__RetryFallback", mixed);
    let call = syn::Ident::new("__call", mixed);
    let call_fn = syn::Ident::new("__retry_fallback", mixed);
    let types: Vec<syn::Ident> = (0..=args.len())
        .map(|i| syn::Ident::new(&format!("__A{i}"), mixed))
        .collect();
    let values: Vec<syn::Ident> = (0..=args.len())
        .map(|i| syn::Ident::new(&format!("__a{i}"), mixed))
        .collect();
    let shown_path = quote!(#path).to_string().replace(' ', "");
    let message =
        format!("`{shown_path}` cannot be the fallback of this function: it must be {expected}");
    let label_text = format!("expected {expected}");
    let note = "a fallback takes the function's arguments, in the same order and passing modes, then the error the call would return, and returns what the function returns (from an `async fn` for an async function); its result is returned instead of the error";
    let path_span = syn::spanned::Spanned::span(path);
    let called = if sync {
        quote!(#call_fn(&#path, (#(#args,)* #error,)))
    } else {
        quote!(#call_fn(&#path, (#(#args,)* #error,)).await)
    };
    let called = relocate(called, path_span);
    // A sync function's fallback is a plain `Fn`; an async one's an `AsyncFn`.
    let (bound, returns) = if sync {
        (quote!(::core::ops::Fn), quote!(__Out))
    } else {
        (
            quote!(::core::ops::AsyncFn),
            quote!(impl ::core::future::Future<Output = __Out>),
        )
    };
    quote! {
        let #outcome: #return_type = #label: { #retry_loop };
        #[diagnostic::on_unimplemented(message = #message, label = #label_text, note = #note)]
        trait #fallback_trait<__Args, __Out> {
            fn #call(&self, args: __Args) -> #returns;
        }
        #[diagnostic::do_not_recommend]
        impl<__F, #(#types,)* __Out> #fallback_trait<(#(#types,)*), __Out> for __F
        where
            __F: #bound(#(#types),*) -> __Out,
        {
            #[inline]
            fn #call(&self, (#(#values,)*): (#(#types,)*)) -> #returns {
                self(#(#values),*)
            }
        }
        // One obligation, at the path: a mismatch is reported once.
        #[inline]
        fn #call_fn<__F, __Args, __Out>(
            fallback: &__F,
            args: __Args,
        ) -> #returns
        where
            __F: #fallback_trait<__Args, __Out>,
        {
            fallback.#call(args)
        }
        match #private::ReturnsResult::into_result(#outcome) {
            ::core::result::Result::Ok(#value) => #private::ReturnsResult::from_ok(#value),
            ::core::result::Result::Err(#error) => #called,
        }
    }
}

/// Whether `tokens` name `ident` anywhere (`self` included).
fn mentions(tokens: TokenStream, ident: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(i) => i == ident,
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), ident),
        _ => false,
    })
}

/// The same tokens, resolved as before but located at `at`.
pub(crate) fn relocate(tokens: TokenStream, at: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut relocated =
                    proc_macro2::Group::new(group.delimiter(), relocate(group.stream(), at));
                relocated.set_span(group.span().located_at(at));
                tree = proc_macro2::TokenTree::Group(relocated);
            } else {
                tree.set_span(tree.span().located_at(at));
            }
            tree
        })
        .collect()
}

trait SpanOf {
    fn span_of(&self) -> Span;
}

impl SpanOf for syn::Path {
    fn span_of(&self) -> Span {
        syn::spanned::Spanned::span(self)
    }
}

fn rebind(rebind: &Rebind, private: &TokenStream) -> TokenStream {
    let Rebind {
        pattern,
        source,
        how,
        span,
    } = rebind;
    let value = match how {
        How::Clone => {
            let private = relocate(private.clone(), *span);
            quote_spanned!(*span=> #private::CloneArg::clone_for_attempt(&#source))
        }
        How::Reborrow => quote!(&mut *#source),
        How::PinReborrow => quote!(::core::pin::Pin::as_mut(&mut #source)),
        How::Copy => quote!(#source),
    };
    quote!(let #pattern = #value;)
}
