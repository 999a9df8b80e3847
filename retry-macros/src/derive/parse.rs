//! Reading `#[classify(...)]` on the type, its variants and their fields.
//! Every mistake is collected, with the span of the token it is about.

use darling::Error;
use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::attr::edit_distance;

/// One of the four classes a key can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Transient,
    Permanent,
    RetryAfter,
    Transparent,
}

impl Kind {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Kind::Transient => "transient",
            Kind::Permanent => "permanent",
            Kind::RetryAfter => "retry_after",
            Kind::Transparent => "transparent",
        }
    }

    fn from_key(key: &str) -> Option<Kind> {
        Some(match key {
            "transient" => Kind::Transient,
            "permanent" => Kind::Permanent,
            "retry_after" => Kind::RetryAfter,
            "transparent" => Kind::Transparent,
            _ => return None,
        })
    }
}

/// A class key as written, with its span.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    pub(crate) kind: Kind,
    pub(crate) span: Span,
}

/// Where a `#[classify(...)]` is written: each place accepts its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Enum,
    Struct,
    Variant,
    Field,
}

impl Place {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Place::Enum => &["transient", "permanent", "crate"],
            Place::Struct => &["transient", "permanent", "transparent", "crate"],
            Place::Variant => &["transient", "permanent", "retry_after", "transparent"],
            Place::Field => &["retry_after", "transparent"],
        }
    }

    fn list(self) -> String {
        let keys: Vec<String> = self.keys().iter().map(|k| format!("`{k}`")).collect();
        match keys.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// The type being derived for.
pub(crate) struct Input {
    pub(crate) ident: syn::Ident,
    pub(crate) generics: syn::Generics,
    /// `#[classify(crate = "...")]`.
    pub(crate) krate: Option<syn::Path>,
    /// The class keys on the type itself: an enum's default, a struct's class.
    pub(crate) keys: Vec<Key>,
    /// A mistake was reported in the type's own `#[classify(...)]`.
    pub(crate) keys_failed: bool,
    pub(crate) shape: Shape,
}

pub(crate) enum Shape {
    Enum(Vec<Variant>),
    /// A struct is classified like one variant named after it.
    Struct(Variant),
}

pub(crate) struct Variant {
    pub(crate) ident: syn::Ident,
    /// Empty for a struct, whose keys are the type's.
    pub(crate) keys: Vec<Key>,
    pub(crate) fields: Vec<Field>,
    /// A mistake was reported in a `#[classify(...)]` of the variant or its
    /// fields: a missing class is then no news.
    pub(crate) failed: bool,
}

pub(crate) struct Field {
    pub(crate) member: syn::Member,
    pub(crate) ty: syn::Type,
    pub(crate) keys: Vec<Key>,
}

/// Parses the input; on a mistake, returns what could be read and the errors.
pub(crate) fn parse(input: &syn::DeriveInput, errors: &mut Vec<Error>) -> Option<Input> {
    let (place, shape) = match &input.data {
        syn::Data::Enum(data) => {
            let variants = data
                .variants
                .iter()
                .map(|v| {
                    let before = errors.len();
                    let keys =
                        keys_of(&v.attrs, Place::Variant, &v.ident.to_string(), None, errors);
                    let fields = fields_of(&v.fields, &v.ident.to_string(), errors);
                    Variant {
                        ident: v.ident.clone(),
                        keys,
                        fields,
                        failed: errors.len() > before,
                    }
                })
                .collect();
            (Place::Enum, Shape::Enum(variants))
        }
        syn::Data::Struct(data) => {
            let before = errors.len();
            let fields = fields_of(&data.fields, &input.ident.to_string(), errors);
            (
                Place::Struct,
                Shape::Struct(Variant {
                    ident: input.ident.clone(),
                    keys: Vec::new(),
                    fields,
                    failed: errors.len() > before,
                }),
            )
        }
        syn::Data::Union(data) => {
            errors.push(
                Error::custom(
                    "`#[derive(Classify)]` applies to enums and structs, not unions: implement `retry_runtime::Classify` by hand",
                )
                .with_span(&data.union_token),
            );
            return None;
        }
    };
    let mut krate = None;
    let before = errors.len();
    let keys = keys_of(
        &input.attrs,
        place,
        &input.ident.to_string(),
        Some(&mut krate),
        errors,
    );
    Some(Input {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        krate,
        keys,
        keys_failed: errors.len() > before,
        shape,
    })
}

fn fields_of(fields: &syn::Fields, owner: &str, errors: &mut Vec<Error>) -> Vec<Field> {
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| Field {
            member: match &field.ident {
                Some(ident) => syn::Member::Named(ident.clone()),
                None => syn::Member::Unnamed(syn::Index {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    span: field.ty.span(),
                }),
            },
            ty: field.ty.clone(),
            keys: keys_of(&field.attrs, Place::Field, owner, None, errors),
        })
        .collect()
}

/// The class keys of every `#[classify(...)]` among `attrs`.
fn keys_of(
    attrs: &[syn::Attribute],
    place: Place,
    owner: &str,
    mut krate: Option<&mut Option<syn::Path>>,
    errors: &mut Vec<Error>,
) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::new();
    let mut crate_seen = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("classify")) {
        let list = match &attr.meta {
            syn::Meta::List(list) => list,
            other => {
                errors.push(
                    Error::custom(format!(
                        "write the class in parentheses, e.g. `#[classify({})]`; the keys here are {}",
                        example(place),
                        place.list()
                    ))
                    .with_span(other),
                );
                continue;
            }
        };
        if list.tokens.is_empty() {
            errors.push(
                Error::custom(format!(
                    "`#[classify()]` is empty: write e.g. `#[classify({})]`; the keys here are {}",
                    example(place),
                    place.list()
                ))
                .with_span(list),
            );
            continue;
        }
        let result = list.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map_or_else(|| quote::ToTokens::to_token_stream(&meta.path).to_string().replace(' ', ""), ToString::to_string);
            let has_value = meta.input.peek(syn::Token![=]);
            let has_list = meta.input.peek(syn::token::Paren);
            // Consume what follows the key, so that one mistake does not hide the next key.
            let value: Option<syn::Expr> = if has_value {
                Some(meta.value()?.parse()?)
            } else {
                if has_list {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let _: proc_macro2::TokenStream = content.parse()?;
                }
                None
            };
            let span = meta.path.span();
            if !place.keys().contains(&key.as_str()) {
                errors.push(misplaced_or_unknown(&key, place, owner).with_span(&span));
                return Ok(());
            }
            if key == "crate" {
                if crate_seen {
                    errors.push(Error::custom("`crate` is set twice: keep one `crate = \"...\"`").with_span(&span));
                    return Ok(());
                }
                crate_seen = true;
                match value.as_ref().map(ungroup) {
                    Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })) => match s.parse::<syn::Path>() {
                        Ok(path) => {
                            if let Some(krate) = krate.as_deref_mut() {
                                *krate = Some(path);
                            }
                        }
                        Err(_) => errors.push(
                            Error::custom(format!(
                                "`{}` is not a path: write the path the runtime crate is re-exported at, e.g. `crate = \"my_crate::retry\"`",
                                s.value()
                            ))
                            .with_span(s),
                        ),
                    },
                    Some(other) => errors.push(
                        Error::custom("`crate` takes a string literal, e.g. `crate = \"my_crate::retry\"`").with_span(other),
                    ),
                    None => errors.push(
                        Error::custom("`crate` needs a value: write `crate = \"my_crate::retry\"`").with_span(&span),
                    ),
                }
                return Ok(());
            }
            let Some(kind) = Kind::from_key(&key) else {
                return Ok(());
            };
            if has_value || has_list {
                errors.push(
                    Error::custom(format!("`{key}` is a flag and takes no value: write `#[classify({key})]`"))
                        .with_span(&span),
                );
            }
            if keys.iter().any(|k| k.kind == kind) {
                errors.push(Error::custom(format!("`{key}` is written twice: once is enough")).with_span(&span));
                return Ok(());
            }
            keys.push(Key { kind, span });
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error.into());
        }
    }
    keys
}

fn example(place: Place) -> &'static str {
    match place {
        Place::Enum | Place::Struct | Place::Variant => "transient",
        Place::Field => "retry_after",
    }
}

/// A key that is known elsewhere gets told where it goes; any other gets a "did you mean".
fn misplaced_or_unknown(key: &str, place: Place, owner: &str) -> Error {
    let message = match (place, key) {
        (Place::Enum, "retry_after") => "`retry_after` goes on a variant (or on the field that holds the delay), not on the enum: the enum's key is the class of every variant without its own, `transient` or `permanent`".to_owned(),
        (Place::Enum, "transparent") => format!(
            "`transparent` goes on a variant with one field, not on the enum `{owner}`: the enum's key is the class of every variant without its own, `transient` or `permanent`"
        ),
        (Place::Struct, "retry_after") => format!(
            "`retry_after` goes on the field that holds the delay: write `#[classify(retry_after)]` on a field of `{owner}`"
        ),
        (Place::Variant, "crate") => "`crate` goes on the type, not on a variant: write `#[classify(crate = \"...\")]` above the enum".to_owned(),
        (Place::Field, "transient" | "permanent") => format!(
            "`{key}` is a class of the variant, not of a field: write `#[classify({key})]` on `{owner}` itself"
        ),
        (Place::Field, "crate") => "`crate` goes on the type, not on a field".to_owned(),
        _ => {
            let lower = key.to_ascii_lowercase();
            let close = ["transient", "permanent", "retry_after", "transparent", "crate"]
                .into_iter()
                .filter(|known| edit_distance(known, &lower) <= 3 || lower.replace('-', "_") == *known)
                .min_by_key(|known| edit_distance(known, &lower));
            match close {
                Some(known) if place.keys().contains(&known) => {
                    format!("unknown key `{key}`: did you mean `{known}`?")
                }
                _ => format!("unknown key `{key}`: the keys here are {}", place.list()),
            }
        }
    };
    Error::custom(message)
}

fn ungroup(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Group(g) => ungroup(&g.expr),
        other => other,
    }
}
