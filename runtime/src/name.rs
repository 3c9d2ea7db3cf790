//! Policy names: given (`name = "…"`), or computed from where the policy is
//! declared (`module::Type::fn` for a method, `module::fn` otherwise).
//!
//! An attribute on a method cannot see its `impl`'s type: the macro only
//! receives the method. What it can do is declare a tiny function in the
//! method's body, `fn here() -> &'static str { type_name_of_val(&here) }`,
//! whose type name the compiler spells with the full path of the item it is
//! nested in:
//!
//! | where `here` is declared | `here()` |
//! |---|---|
//! | `fn free` in `my_crate::m` | `my_crate::m::free::here` |
//! | `impl<T> Foo<T> { fn get }` | `my_crate::m::Foo<_>::get::here` |
//! | `impl Tr for Foo { fn t }` | `<my_crate::m::Foo as my_crate::m::Tr>::t::here` |
//! | an `async` block or closure in `fn f` | `my_crate::m::f::{{closure}}::here` |
//! | a `static S`'s initializer in `fn f` | `my_crate::m::f::S::here` |
//!
//! [`PolicyName::located`] keeps `module_path!()`, the function's name and
//! `here`, and works the name out from them the first time it is read
//! (`resolve`): generics, `{{closure}}` segments and whatever follows the
//! function are dropped; what stands between the module and the function is
//! the type (or, for a function nested in another, the outer function).
//!
//! The result is built once per declaration site and kept for the life of the
//! process (one leaked `String`, held by the site's `Location`), so that it
//! can be a `&'static str` like a given name; later reads are one acquire
//! load. Reading it never
//! happens on a call's success path: only for rejections, events, metrics
//! and [`health`](crate::health()).

use core::fmt;
use core::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// A policy's name as its builder holds it: a given `&'static str`, or a
/// location to compute it from on first use. `Copy`, and built in `const`
/// context.
///
/// ```
/// use steadfast_runtime::CircuitBreaker;
/// use steadfast_runtime::name::{Location, PolicyName};
///
/// struct Inventory;
///
/// impl Inventory {
///     fn breaker() -> &'static CircuitBreaker {
///         fn here() -> &'static str {
///             core::any::type_name_of_val(&here)
///         }
///         static AT: Location = Location::new(module_path!(), "breaker", here);
///         static BREAKER: CircuitBreaker = CircuitBreaker::builder()
///             .name_located(&AT)
///             .build();
///         &BREAKER
///     }
/// }
///
/// fn main() {
///     // `my_crate::Inventory::breaker`, in a crate named `my_crate`.
///     assert_eq!(Inventory::breaker().name(), concat!(module_path!(), "::Inventory::breaker"));
///     assert_eq!(PolicyName::fixed("payments").get(), "payments");
/// }
/// ```
#[derive(Clone, Copy)]
pub struct PolicyName(Source);

// Two words, like the `&'static str` it stands for: a located name is a
// reference to its `Location` (in the niche of the string's pointer), so that
// the builders and policies that hold a name stay as small as with a plain
// string (`name_is_two_words`).
#[derive(Clone, Copy)]
enum Source {
    Fixed(&'static str),
    Located(&'static Location),
}

/// Where a policy is declared, for [`PolicyName::located`]: a `static` next
/// to the policy (`static AT: Location = Location::new(module_path!(), "get", here);`),
/// which also keeps the name once it is worked out.
pub struct Location {
    module: &'static str,
    function: &'static str,
    here: fn() -> &'static str,
    resolved: OnceLock<&'static str>,
}

impl Location {
    /// The function `function` of the module `module` (`module_path!()`),
    /// and `here`, a function declared inside `function`'s body that returns
    /// its own type name (`core::any::type_name_of_val(&here)`).
    #[must_use]
    pub const fn new(
        module: &'static str,
        function: &'static str,
        here: fn() -> &'static str,
    ) -> Self {
        Location {
            module,
            function,
            here,
            resolved: OnceLock::new(),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Location")
            .field("module", &self.module)
            .field("function", &self.function)
            .field("here", &(self.here)())
            .finish()
    }
}

impl PolicyName {
    /// The name `name`, as given.
    #[must_use]
    pub const fn fixed(name: &'static str) -> Self {
        PolicyName(Source::Fixed(name))
    }

    /// The name of a policy declared at `location` (see [`Location::new`]):
    /// `module::Type::function` when `here` shows a type between the module
    /// and the function (a method), else `module::function`. For a
    /// trait method (`<X as Trait>::function`), `Type` is the last segment of
    /// the implementing type `X`, wherever `X` is declared. A function nested
    /// in another is named `module::outer::function`. A `here` whose path
    /// does not fit (another module, or no segment `function`) gives
    /// `module::function`.
    #[must_use]
    pub const fn located(location: &'static Location) -> Self {
        PolicyName(Source::Located(location))
    }

    /// The name. A located name is worked out on its first read anywhere in
    /// the process and kept by its [`Location`]; later reads are one acquire
    /// load.
    #[must_use]
    #[inline]
    pub fn get(&self) -> &'static str {
        match self.0 {
            Source::Fixed(name) => name,
            Source::Located(location) => location.name(),
        }
    }
}

impl fmt::Debug for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Source::Fixed(name) => fmt::Debug::fmt(name, f),
            Source::Located(location) => f
                .debug_struct("Located")
                .field("module", &location.module)
                .field("function", &location.function)
                .field("here", &(location.here)())
                .finish(),
        }
    }
}

/// Two names are equal when they are the same given name, or the same
/// location (compared by what `here` returns, not by function address).
impl PartialEq for PolicyName {
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            (Source::Fixed(a), Source::Fixed(b)) => a == b,
            (Source::Located(a), Source::Located(b)) => a.key() == b.key(),
            _ => false,
        }
    }
}

impl Eq for PolicyName {}

impl Hash for PolicyName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.0 {
            Source::Fixed(name) => (0u8, name).hash(state),
            Source::Located(location) => (1u8, location.key()).hash(state),
        }
    }
}

impl Location {
    /// What identifies the location: `here`'s path, the module, the function.
    fn key(&self) -> (&'static str, &'static str, &'static str) {
        ((self.here)(), self.module, self.function)
    }

    /// The resolved name, computed on the first read.
    #[inline]
    fn name(&self) -> &'static str {
        self.resolved
            .get_or_init(|| resolve(self.module, self.function, (self.here)()).leak())
    }
}

/// The name of a policy declared in `function` of `module`, from `here`'s type
/// name (see the module docs for the shapes).
pub(crate) fn resolve(module: &str, function: &str, here: &str) -> String {
    let (owner, rest) = match here.strip_prefix('<') {
        // `<X as Trait>::f::here`, `<X>::f::here`: the type is X's last segment.
        Some(qualified) => match split_qualified(qualified) {
            Some((ty, rest)) => (Some(last_segment(ty)), rest),
            None => return join(module, &[], function),
        },
        None => match here
            .strip_prefix(module)
            .and_then(|rest| rest.strip_prefix("::"))
        {
            Some(rest) => (None, rest),
            None => return join(module, &[], function),
        },
    };
    let segments: Vec<&str> = split_top(rest)
        .into_iter()
        .map(strip_generics)
        .filter(|segment| !segment.starts_with("{{"))
        .collect();
    let Some(at) = segments.iter().rposition(|segment| *segment == function) else {
        return join(module, owner.as_slice(), function);
    };
    let mut between: Vec<&str> = owner.into_iter().collect();
    between.extend_from_slice(&segments[..at]);
    join(module, &between, function)
}

fn join(module: &str, between: &[&str], function: &str) -> String {
    let mut name = String::from(module);
    for segment in between.iter().chain([&function]) {
        if !name.is_empty() {
            name.push_str("::");
        }
        name.push_str(segment);
    }
    name
}

/// Splits `X as Trait>::rest` (after the opening `<`) into `X` and `rest`.
fn split_qualified(qualified: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut ty_end = None;
    for (i, c) in qualified.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if depth == 0 => {
                let ty = &qualified[..ty_end.unwrap_or(i)];
                let rest = qualified[i + 1..].strip_prefix("::")?;
                return Some((ty, rest));
            }
            '>' => depth -= 1,
            ' ' if depth == 0 && ty_end.is_none() && qualified[i..].starts_with(" as ") => {
                ty_end = Some(i);
            }
            _ => {}
        }
    }
    None
}

/// The last path segment of a type, without generics or a leading `&`,
/// `&mut `, `*const `, `*mut ` or `dyn `.
fn last_segment(ty: &str) -> &str {
    let mut ty = ty.trim();
    for prefix in ["&mut ", "&", "*const ", "*mut ", "dyn "] {
        if let Some(rest) = ty.strip_prefix(prefix) {
            ty = rest.trim_start();
        }
    }
    split_top(ty)
        .last()
        .map_or(ty, |segment| strip_generics(segment))
}

/// Splits a path at the `::` that are not inside `<…>`.
fn split_top(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                segments.push(&path[start..i]);
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    segments.push(&path[start..]);
    segments
}

/// `Foo<_>` → `Foo`.
fn strip_generics(segment: &str) -> &str {
    segment.find('<').map_or(segment, |at| &segment[..at])
}

#[cfg(test)]
mod tests {
    #[test]
    fn name_is_two_words() {
        // As small as the `&'static str` it replaced.
        assert_eq!(
            core::mem::size_of::<PolicyName>(),
            core::mem::size_of::<&'static str>()
        );
    }

    use super::*;

    fn here_free() -> &'static str {
        fn here() -> &'static str {
            core::any::type_name_of_val(&here)
        }
        here()
    }

    #[test]
    fn free_functions_are_module_fn() {
        assert_eq!(resolve("c::m", "free", "c::m::free::here"), "c::m::free");
        assert_eq!(resolve("c", "free", "c::free::here"), "c::free");
    }

    #[test]
    fn methods_of_generic_types_drop_the_generics() {
        assert_eq!(
            resolve("c::m", "get", "c::m::Foo<_>::get::here"),
            "c::m::Foo::get"
        );
        assert_eq!(
            resolve("c::m", "get", "c::m::Foo<'_, _, c::m::Bar<_>>::get::here"),
            "c::m::Foo::get"
        );
        assert_eq!(
            resolve("c::m", "get", "c::m::Foo::get::here"),
            "c::m::Foo::get"
        );
    }

    #[test]
    fn trait_methods_take_the_implementing_types_last_segment() {
        assert_eq!(
            resolve("c::m", "t", "<c::m::Foo<_> as c::m::Tr>::t::here"),
            "c::m::Foo::t"
        );
        assert_eq!(
            resolve("c::m", "t", "<&c::m::Bar as c::other::Tr<u8>>::t::here"),
            "c::m::Bar::t"
        );
        assert_eq!(
            resolve("c::m", "t", "<[u8] as c::m::Tr>::t::here"),
            "c::m::[u8]::t"
        );
        assert_eq!(
            resolve("c::m", "d", "<dyn c::m::Tr>::d::here"),
            "c::m::Tr::d"
        );
        assert_eq!(
            resolve("c::m", "t", "<c::m::f::S as c::m::Tr>::t::here"),
            "c::m::S::t"
        );
    }

    #[test]
    fn closures_async_blocks_and_statics_after_the_fn_are_dropped() {
        assert_eq!(
            resolve("c::m", "f", "c::m::f::{{closure}}::here"),
            "c::m::f"
        );
        assert_eq!(
            resolve("c::m", "a", "c::m::Bar::a::{{closure}}::{{closure}}::here"),
            "c::m::Bar::a"
        );
        assert_eq!(
            resolve(
                "c::m",
                "get",
                "c::m::Foo<_>::get::__STEADFAST_BREAKER::here"
            ),
            "c::m::Foo::get"
        );
        assert_eq!(
            resolve("c::m", "f", "c::m::f::{{constant}}::here"),
            "c::m::f"
        );
    }

    #[test]
    fn nested_fns_and_items_keep_the_path_between() {
        assert_eq!(
            resolve("c::m", "inner", "c::m::outer::inner::here"),
            "c::m::outer::inner"
        );
        assert_eq!(
            resolve("c::m", "g", "c::m::outer::S::g::here"),
            "c::m::outer::S::g"
        );
        // The attributed fn is the last segment of its name, even when a
        // module or type shares it.
        assert_eq!(resolve("c::get", "get", "c::get::get::here"), "c::get::get");
        assert_eq!(
            resolve("c::m", "get", "c::m::get::get::here"),
            "c::m::get::get"
        );
    }

    #[test]
    fn a_path_that_does_not_fit_falls_back_to_module_fn() {
        assert_eq!(resolve("c::m", "f", "other::f::here"), "c::m::f");
        assert_eq!(resolve("c::m", "f", "c::m::g::here"), "c::m::f");
        assert_eq!(resolve("c::m", "f", "<unbalanced"), "c::m::f");
        assert_eq!(resolve("", "f", "f::here"), "f");
    }

    #[test]
    fn real_paths_from_the_compiler() {
        // This test's own module path, as the compiler spells it.
        let module = module_path!();
        assert_eq!(
            resolve(module, "here_free", here_free()),
            format!("{module}::here_free")
        );
        struct Alpha;
        impl Alpha {
            fn name() -> PolicyName {
                fn here() -> &'static str {
                    core::any::type_name_of_val(&here)
                }
                static AT: Location = Location::new(module_path!(), "name", here);
                PolicyName::located(&AT)
            }
        }
        assert_eq!(
            Alpha::name().get(),
            format!("{module}::real_paths_from_the_compiler::Alpha::name")
        );
    }

    #[test]
    fn located_names_are_interned_once_and_compare_by_location() {
        fn here() -> &'static str {
            core::any::type_name_of_val(&here)
        }
        static AT: Location = Location::new(
            module_path!(),
            "located_names_are_interned_once_and_compare_by_location",
            here,
        );
        let a = PolicyName::located(&AT);
        let b = a;
        assert!(core::ptr::eq(a.get(), b.get()), "one string per location");
        assert_eq!(a, b);
        assert_ne!(a, PolicyName::fixed(a.get()));
        assert_eq!(PolicyName::fixed("x"), PolicyName::fixed("x"));
        let again = PolicyName::located(&AT);
        assert!(core::ptr::eq(again.get(), a.get()), "kept by the location");
        assert_eq!(PolicyName::fixed("x").get(), "x");
    }
}
