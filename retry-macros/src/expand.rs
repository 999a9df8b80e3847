//! Generating the retry loop. See `examples/expanded.rs` for the output on one
//! function, commented line by line.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit_mut::VisitMut;

use crate::check::{How, Plan, Rebind};
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

    let rebinds = self_rebind
        .iter()
        .chain(&rebinds)
        .map(|r| rebind(r, &private));
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
        use #private::{DescribeDebug as _, DescribeOpaque as _};
        (&#private::Describe(#error)).describe()
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

    function.block = syn::parse_quote!({
        static #site: #private::CallSite = #site_value;
        #[#private::linkme::distributed_slice(#private::CALL_SITES)]
        #[linkme(crate = #private::linkme)]
        static #register: &'static #private::CallSite = &#site;

        let mut #controller = #private::Controller::start(&#site);
        loop {
            let #step_ident = #step;
            match #step_ident {
                #private::ControlFlow::Break(#output) => return #output,
                #private::ControlFlow::Continue(#pending) => match #pause {
                    #private::ControlFlow::Break(#output) => return #output,
                    #private::ControlFlow::Continue(()) => {}
                },
            }
        }
    });
    quote!(#function)
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
