//! Generating `impl Classify`: a `match` with one arm per variant.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::check::{How, Plan};
use crate::expand::relocate;

/// The impl. `complete` is false when errors were reported: the arms that were
/// resolved are still generated (so a wrong `retry_after` field type is reported
/// in the same build) and the rest are `unreachable!()`, so the user sees our
/// errors and not "`Classify` is not implemented" as well.
pub(crate) fn expand(plan: &Plan, complete: bool) -> TokenStream {
    let Plan {
        ident,
        generics,
        krate,
        is_enum,
        arms,
    } = plan;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let field = syn::Ident::new("__classify_field", Span::mixed_site());

    let pattern = |variant: &Option<syn::Ident>, how: &How| {
        let path = match variant {
            Some(v) => quote!(Self::#v),
            None => quote!(Self),
        };
        match how.field() {
            Some((member, _)) => quote!(#path { #member: #field, .. }),
            None => quote!(#path { .. }),
        }
    };

    let classify_arms = arms.iter().map(|arm| {
        let pattern = pattern(&arm.variant, &arm.how);
        let class = match &arm.how {
            How::Transient => quote!(#krate::Class::Transient),
            How::Permanent => quote!(#krate::Class::Permanent),
            How::RetryAfter(_, ty) => {
                let at = ty.span();
                let field = syn::Ident::new("__classify_field", Span::mixed_site().located_at(at));
                let private = relocate(quote!(#krate::__private), at);
                quote_spanned!(at=> #private::RetryAfterField::retry_after_class(#field))
            }
            How::Transparent(_, ty) => {
                let at = ty.span();
                let field = syn::Ident::new("__classify_field", Span::mixed_site().located_at(at));
                let private = relocate(quote!(#krate::__private), at);
                quote_spanned!(at=> #private::TransparentField::field_class(#field))
            }
        };
        quote!(#pattern => #class,)
    });
    // Located at the field like the `classify` arm: a field that does not
    // classify is reported once, there.
    let forwarded = |method: &str| {
        arms.iter()
            .filter_map(|arm| match &arm.how {
                How::Transparent(_, ty) => {
                    let pattern = pattern(&arm.variant, &arm.how);
                    let at = ty.span();
                    let field =
                        syn::Ident::new("__classify_field", Span::mixed_site().located_at(at));
                    let private = relocate(quote!(#krate::__private), at);
                    let method = syn::Ident::new(method, at);
                    let call = quote_spanned!(at=> #private::TransparentField::#method(#field));
                    Some(quote!(#pattern => #call,))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let replay_arms = forwarded("field_replay_safe");
    let outage_arms = forwarded("field_is_outage");
    let all_transparent = !arms.is_empty()
        && arms
            .iter()
            .all(|arm| matches!(arm.how, How::Transparent(..)))
        && complete;
    let replay_rest = (!all_transparent).then(|| quote!(_ => true,));
    let classify_rest = (!complete).then(|| quote!(_ => ::core::unreachable!(),));
    // An enum without variants has no value to classify.
    let scrutinee = if *is_enum && arms.is_empty() && complete {
        quote!(*self)
    } else {
        quote!(self)
    };
    let no_value = *is_enum && arms.is_empty() && complete;
    let outage_rest = (!all_transparent && !no_value).then(|| quote!(_ => false,));
    let replay_rest = if no_value { None } else { replay_rest };

    quote! {
        #[automatically_derived]
        #[allow(unreachable_patterns, unreachable_code)]
        impl #impl_generics #krate::Classify for #ident #ty_generics #where_clause {
            fn classify(&self) -> #krate::Class {
                match #scrutinee {
                    #(#classify_arms)*
                    #classify_rest
                }
            }

            fn replay_safe(&self) -> bool {
                match #scrutinee {
                    #(#replay_arms)*
                    #replay_rest
                }
            }

            fn is_outage(&self) -> bool {
                match #scrutinee {
                    #(#outage_arms)*
                    #outage_rest
                }
            }
        }
    }
}
