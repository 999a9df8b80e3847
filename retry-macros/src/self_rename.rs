//! Renames `self` inside a body, so that each attempt can bind its own `self`
//! (a clone, or a reborrow) under another name. Nested items keep their own
//! `self`; macro arguments are renamed token by token (like async-trait does).

use proc_macro2::{Group, TokenStream, TokenTree};
use syn::visit_mut::{self, VisitMut};

pub(crate) struct RenameSelf(pub(crate) syn::Ident);

impl RenameSelf {
    fn rename_tokens(&self, tokens: TokenStream) -> TokenStream {
        let mut out = Vec::new();
        let mut iter = tokens.into_iter().peekable();
        while let Some(tree) = iter.next() {
            match tree {
                TokenTree::Ident(ident) if ident == "self" => {
                    // `self::path` names the module, not the receiver.
                    let is_path =
                        matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                    if is_path {
                        out.push(TokenTree::Ident(ident));
                    } else {
                        let mut renamed = self.0.clone();
                        renamed.set_span(self.0.span().located_at(ident.span()));
                        out.push(TokenTree::Ident(renamed));
                    }
                }
                TokenTree::Group(group) => {
                    let mut renamed =
                        Group::new(group.delimiter(), self.rename_tokens(group.stream()));
                    renamed.set_span(group.span());
                    out.push(TokenTree::Group(renamed));
                }
                other => out.push(other),
            }
        }
        out.into_iter().collect()
    }
}

impl VisitMut for RenameSelf {
    fn visit_expr_path_mut(&mut self, expr: &mut syn::ExprPath) {
        if expr.qself.is_none() && expr.path.is_ident("self") {
            if let Some(segment) = expr.path.segments.first_mut() {
                let mut renamed = self.0.clone();
                renamed.set_span(self.0.span().located_at(segment.ident.span()));
                segment.ident = renamed;
            }
            return;
        }
        visit_mut::visit_expr_path_mut(self, expr);
    }

    fn visit_item_mut(&mut self, _item: &mut syn::Item) {
        // A nested `fn`, `impl` or `mod` has its own `self`.
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        mac.tokens = self.rename_tokens(std::mem::take(&mut mac.tokens));
    }
}
