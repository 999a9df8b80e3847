//! The rules that span several keys: one class per variant, the field that
//! `retry_after` and `transparent` read, a class for every variant.

use darling::Error;
use syn::visit::Visit;

use super::parse::{Field, Input, Key, Kind, Shape, Variant};

/// What the expansion generates.
pub(crate) struct Plan {
    pub(crate) ident: syn::Ident,
    pub(crate) generics: syn::Generics,
    pub(crate) krate: syn::Path,
    pub(crate) is_enum: bool,
    /// One per variant (one for a struct), for those that could be resolved.
    pub(crate) arms: Vec<Arm>,
}

pub(crate) struct Arm {
    /// `None` for a struct.
    pub(crate) variant: Option<syn::Ident>,
    pub(crate) how: How,
}

pub(crate) enum How {
    Transient,
    Permanent,
    /// The field holding the delay: a `Duration` or an `Option<Duration>`.
    RetryAfter(syn::Member, syn::Type),
    /// The field whose own `Classify` decides.
    Transparent(syn::Member, syn::Type),
}

impl How {
    pub(crate) fn field(&self) -> Option<(&syn::Member, &syn::Type)> {
        match self {
            How::RetryAfter(member, ty) | How::Transparent(member, ty) => Some((member, ty)),
            How::Transient | How::Permanent => None,
        }
    }
}

pub(crate) fn check(input: Input, errors: &mut Vec<Error>) -> Plan {
    let krate = input
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::retry_runtime));
    let name = input.ident.to_string();
    let (is_enum, arms) = match &input.shape {
        Shape::Enum(variants) => {
            let default = match input.keys.as_slice() {
                [] => None,
                [one] => Some(*one),
                [first, second, ..] => {
                    errors.push(
                        Error::custom(format!(
                            "`{name}` has two default classes, `{}` and `{}`: keep one; a variant with its own `#[classify(...)]` does not use it",
                            first.kind.key(),
                            second.kind.key()
                        ))
                        .with_span(&second.span),
                    );
                    Some(*first)
                }
            };
            let arms = variants
                .iter()
                .filter_map(|variant| {
                    let owner = Owner::Variant {
                        variant: variant.ident.to_string(),
                        enumeration: &name,
                    };
                    let quiet = input.keys_failed || variant.failed;
                    resolve(&owner, variant, &variant.keys, default, quiet, errors).map(|how| Arm {
                        variant: Some(variant.ident.clone()),
                        how,
                    })
                })
                .collect::<Vec<_>>();
            (true, arms)
        }
        Shape::Struct(variant) => {
            let owner = Owner::Struct(&name);
            let quiet = input.keys_failed || variant.failed;
            let arms = resolve(&owner, variant, &input.keys, None, quiet, errors)
                .map(|how| Arm { variant: None, how })
                .into_iter()
                .collect::<Vec<_>>();
            (false, arms)
        }
    };
    let mut generics = input.generics;
    add_bounds(&mut generics, &arms, &krate);
    Plan {
        ident: input.ident,
        generics,
        krate,
        is_enum,
        arms,
    }
}

enum Owner<'a> {
    Variant {
        variant: String,
        enumeration: &'a str,
    },
    Struct(&'a str),
}

impl Owner<'_> {
    /// How the owner is named in a message.
    fn named(&self) -> String {
        match self {
            Owner::Variant { variant, .. } => format!("the variant `{variant}`"),
            Owner::Struct(name) => format!("`{name}`"),
        }
    }

    fn short(&self) -> &str {
        match self {
            Owner::Variant { variant, .. } => variant,
            Owner::Struct(name) => name,
        }
    }
}

/// The class of one variant (or of a struct), or `None` after reporting why not.
/// `quiet`: a mistake in its keys was reported already, so a missing class is not.
fn resolve(
    owner: &Owner<'_>,
    variant: &Variant,
    keys: &[Key],
    default: Option<Key>,
    quiet: bool,
    errors: &mut Vec<Error>,
) -> Option<How> {
    let named = owner.named();
    if let [first, second, ..] = keys {
        errors.push(
            Error::custom(format!(
                "{named} has two classes, `{}` and `{}`: keep the one that says how to retry it",
                first.kind.key(),
                second.kind.key()
            ))
            .with_span(&second.span),
        );
        return None;
    }
    let mut marked: Vec<(&Field, Key)> = Vec::new();
    for field in &variant.fields {
        if let [first, second, ..] = field.keys.as_slice() {
            errors.push(
                Error::custom(format!(
                    "this field is marked both `{}` and `{}`: keep one",
                    first.kind.key(),
                    second.kind.key()
                ))
                .with_span(&second.span),
            );
        }
        if let Some(key) = field.keys.first() {
            marked.push((field, *key));
        }
    }
    if let [(_, first), (_, second), ..] = marked.as_slice() {
        let message = if first.kind == second.kind {
            format!(
                "two fields of {named} are marked `{}`: one field decides the class; keep one mark",
                first.kind.key()
            )
        } else {
            format!(
                "two fields of {named} are marked, `{}` and `{}`: one field decides the class; keep one mark",
                first.kind.key(),
                second.kind.key()
            )
        };
        errors.push(Error::custom(message).with_span(&second.span));
        return None;
    }
    let mark = marked.first().copied();
    let key = match (keys.first().copied(), mark) {
        (Some(on_variant), Some((_, on_field))) if on_variant.kind != on_field.kind => {
            errors.push(
                Error::custom(format!(
                    "{named} has two classes, `{}` on it and `{}` on its field: keep one",
                    on_variant.kind.key(),
                    on_field.kind.key()
                ))
                .with_span(&on_field.span),
            );
            return None;
        }
        (Some(key), _) | (None, Some((_, key))) => key,
        (None, None) => match default {
            Some(key) => key,
            None => {
                if !quiet {
                    errors.push(no_class(owner).with_span(&variant.ident));
                }
                return None;
            }
        },
    };
    match key.kind {
        Kind::Transient => Some(How::Transient),
        Kind::Permanent => Some(How::Permanent),
        kind @ (Kind::RetryAfter | Kind::Transparent) => {
            let field = match (mark, variant.fields.as_slice()) {
                (Some((field, _)), _) | (None, [field]) => field,
                (None, fields) => {
                    errors.push(wrong_field_count(owner, kind, fields.len()).with_span(&key.span));
                    return None;
                }
            };
            let (member, ty) = (field.member.clone(), field.ty.clone());
            Some(if kind == Kind::RetryAfter {
                How::RetryAfter(member, ty)
            } else {
                How::Transparent(member, ty)
            })
        }
    }
}

fn no_class(owner: &Owner<'_>) -> Error {
    Error::custom(match owner {
        Owner::Variant {
            variant,
            enumeration,
        } => format!(
            "the variant `{variant}` has no class: add `#[classify(transient)]`, `#[classify(permanent)]`, `#[classify(retry_after)]` or `#[classify(transparent)]` to it, or give `{enumeration}` a default for every such variant with `#[classify(permanent)]` (or `transient`) above the enum"
        ),
        Owner::Struct(name) => format!(
            "`{name}` has no class: add `#[classify(transient)]` or `#[classify(permanent)]` above the struct, `#[classify(transparent)]` if its one field classifies itself, or mark a `Duration` field with `#[classify(retry_after)]`"
        ),
    })
}

fn wrong_field_count(owner: &Owner<'_>, kind: Kind, count: usize) -> Error {
    let named = owner.named();
    let short = owner.short();
    let key = kind.key();
    Error::custom(match (kind, count) {
        (Kind::RetryAfter, 0) => format!(
            "`retry_after` reads the delay from a field, and {named} has none: give it one, e.g. `{short}(std::time::Duration)` (or `Option<Duration>`)"
        ),
        (Kind::RetryAfter, n) => format!(
            "`retry_after` reads the delay from one field, and {named} has {n}: mark the one that holds it with `#[classify(retry_after)]` instead"
        ),
        (_, 0) => format!(
            "`transparent` forwards to one field's own `Classify`, and {named} has no field: give it one, e.g. `{short}(#[from] std::io::Error)`, or write its class, `transient` or `permanent`"
        ),
        (_, n) => format!(
            "`{key}` forwards to one field's own `Classify`, and {named} has {n}: mark the field that decides with `#[classify(transparent)]` instead"
        ),
    })
}

/// `Field: Classify` for every transparent field whose type uses a type parameter,
/// so `enum Error<E> { #[classify(transparent)] Inner(E) }` classifies when `E` does.
fn add_bounds(generics: &mut syn::Generics, arms: &[Arm], krate: &syn::Path) {
    let params: Vec<syn::Ident> = generics.type_params().map(|p| p.ident.clone()).collect();
    if params.is_empty() {
        return;
    }
    let bounded: Vec<syn::Type> = arms
        .iter()
        .filter_map(|arm| match &arm.how {
            How::Transparent(_, ty) if uses_any(ty, &params) => Some(ty.clone()),
            _ => None,
        })
        .collect();
    if bounded.is_empty() {
        return;
    }
    let where_clause = generics.make_where_clause();
    for ty in bounded {
        where_clause
            .predicates
            .push(syn::parse_quote!(#ty: #krate::Classify));
    }
}

fn uses_any(ty: &syn::Type, params: &[syn::Ident]) -> bool {
    struct Uses<'a> {
        params: &'a [syn::Ident],
        found: bool,
    }
    impl<'ast> Visit<'ast> for Uses<'_> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            if let Some(first) = path.segments.first()
                && self.params.contains(&first.ident)
            {
                self.found = true;
            }
            syn::visit::visit_path(self, path);
        }
    }
    let mut uses = Uses {
        params,
        found: false,
    };
    uses.visit_type(ty);
    uses.found
}
