//! The copies' storage: one `Option<F>` per copy, inline and pinned in place.
//!
//! A hedged call holds at most `1 + MAX` copies of the body. They live in a
//! chain of [`Link`]s (`Link<F, Link<F, … End>>`), one per copy, built as a
//! value of the call's own future, so that starting a copy allocates nothing
//! and a copy is dropped (its slot set to `None`) the moment it loses or
//! fails. The chain's length is chosen from `MAX` by [`Width`], implemented
//! for `1..=8` extra copies.

use core::future::Future;
use core::pin::Pin;

use pin_project_lite::pin_project;

pin_project! {
    /// One copy's slot, then the rest of the chain.
    #[doc(hidden)]
    pub struct Link<F, R> {
        #[pin]
        head: Option<F>,
        #[pin]
        rest: R,
    }
}

/// The end of a chain of [`Link`]s.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct End;

/// A chain of slots for copies of type `F`.
#[doc(hidden)]
pub trait Slots<F>: Sized {
    /// An empty chain.
    fn empty() -> Self;
    /// A chain whose first slot holds `first` (built with the call, so that
    /// its first poll runs it in place rather than writing it first).
    fn with_first(first: F) -> Self;
    /// The `index`th slot (0 = the first copy), if the chain has it.
    fn slot(self: Pin<&mut Self>, index: usize) -> Option<Pin<&mut Option<F>>>;
}

impl<F> Slots<F> for End {
    fn empty() -> Self {
        End
    }
    fn with_first(first: F) -> Self {
        // Never a whole chain (a hedge holds at least two copies).
        drop(first);
        End
    }
    fn slot(self: Pin<&mut Self>, _index: usize) -> Option<Pin<&mut Option<F>>> {
        None
    }
}

impl<F, R: Slots<F>> Slots<F> for Link<F, R> {
    fn empty() -> Self {
        Link {
            head: None,
            rest: R::empty(),
        }
    }
    fn with_first(first: F) -> Self {
        Link {
            head: Some(first),
            rest: R::empty(),
        }
    }
    fn slot(self: Pin<&mut Self>, index: usize) -> Option<Pin<&mut Option<F>>> {
        let this = self.project();
        match index {
            0 => Some(this.head),
            _ => this.rest.slot(index - 1),
        }
    }
}

/// `MAX` extra copies: the type of the chain that holds `1 + MAX` copies.
#[doc(hidden)]
#[derive(Debug)]
pub struct Extra<const MAX: usize>;

/// The chain of slots for a hedge of `MAX` extra copies (1 to 8).
#[diagnostic::on_unimplemented(
    message = "a hedge starts 1 to 8 extra copies, not {Self}",
    label = "`max` must be between 1 and 8"
)]
pub trait Width {
    /// `1 + MAX` slots of `F`.
    #[doc(hidden)]
    type Slots<F: Future>: Slots<F>;
}

macro_rules! widths {
    ($($max:literal => $slots:ty;)*) => {$(
        impl Width for Extra<$max> {
            type Slots<F: Future> = $slots;
        }
    )*};
}

type L<F, R> = Link<F, R>;

widths! {
    1 => L<F, L<F, End>>;
    2 => L<F, L<F, L<F, End>>>;
    3 => L<F, L<F, L<F, L<F, End>>>>;
    4 => L<F, L<F, L<F, L<F, L<F, End>>>>>;
    5 => L<F, L<F, L<F, L<F, L<F, L<F, End>>>>>>;
    6 => L<F, L<F, L<F, L<F, L<F, L<F, L<F, End>>>>>>>;
    7 => L<F, L<F, L<F, L<F, L<F, L<F, L<F, L<F, End>>>>>>>>;
    8 => L<F, L<F, L<F, L<F, L<F, L<F, L<F, L<F, L<F, End>>>>>>>>>;
}
