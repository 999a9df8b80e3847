//! `breaker_key = <expr>` on the call path: the expansion hands the key's value
//! to [`KeyProbe`], and autoref specialization picks how it is looked up, by
//! its `str` ([`KeyByText`]) or through its `Display` output ([`KeyByDisplay`],
//! whose [`BreakerKey`] bound reports a key that cannot be displayed at the
//! user's expression).

use std::fmt::Display;
use std::sync::Arc;

use crate::breaker::lookup::ByDisplay;
use crate::call::controller::Controller;
use crate::registry::CallSite;

/// The value of `breaker_key = <expr>`: text, compared as text.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`breaker_key` must be text, and `{Self}` cannot be displayed",
    label = "each distinct key gets its own breaker, and keys compare by their text: this must be a `&str`, a `String` or a `Display` type",
    note = "implement `std::fmt::Display` for the key's type, or give a field or method of it that is text, e.g. `breaker_key = url.host_str().unwrap_or(\"\")`"
)]
pub trait BreakerKey: Display {}

impl<T: Display + ?Sized> BreakerKey for T {}

/// Key types whose `Display` text is a `str` they hold, read without
/// formatting: `str`, `String`, `Box<str>`, `Arc<str>`, `Rc<str>`, `Cow<str>`,
/// and references to them.
#[doc(hidden)]
pub trait KeyText {
    fn key_text(&self) -> &str;
}

macro_rules! key_text {
    ($($ty:ty),*) => {$(
        impl KeyText for $ty {
            #[inline]
            fn key_text(&self) -> &str {
                self
            }
        }
    )*};
}

key_text!(
    str,
    String,
    Box<str>,
    Arc<str>,
    std::rc::Rc<str>,
    std::borrow::Cow<'_, str>
);

impl<T: KeyText + ?Sized> KeyText for &T {
    #[inline]
    fn key_text(&self) -> &str {
        (**self).key_text()
    }
}

/// The value of `breaker_key`, for the expansion's method probe: a
/// [`KeyText`] key is looked up by its `str` (no formatting), any other by
/// its `Display` output (autoref specialization: [`KeyByText`] applies to
/// `KeyProbe` itself, [`KeyByDisplay`] to `&KeyProbe`, so the first wins
/// where it applies).
#[doc(hidden)]
pub struct KeyProbe<'k, K: ?Sized>(pub &'k K);

#[doc(hidden)]
pub trait KeyByText {
    fn start_keyed(&self, site: &'static CallSite) -> Controller;
}

impl<K: KeyText + ?Sized> KeyByText for KeyProbe<'_, K> {
    #[inline]
    fn start_keyed(&self, site: &'static CallSite) -> Controller {
        Controller::start_keyed(site, self.0.key_text())
    }
}

#[doc(hidden)]
pub trait KeyByDisplay {
    type Key: ?Sized;
    fn start_keyed(&self, site: &'static CallSite) -> Controller
    where
        Self::Key: BreakerKey;
}

impl<K: ?Sized> KeyByDisplay for &KeyProbe<'_, K> {
    type Key = K;
    #[inline]
    fn start_keyed(&self, site: &'static CallSite) -> Controller
    where
        K: BreakerKey,
    {
        Controller::start_keyed(site, &ByDisplay(self.0))
    }
}
