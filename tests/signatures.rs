//! The annotated function keeps its signature, and its body behaves as it
//! would without the attribute.

// The bodies below deliberately use the constructs these lints flag.
#![allow(
    clippy::non_minimal_cfg,
    clippy::needless_return,
    clippy::never_loop,
    clippy::manual_unwrap_or_default,
    clippy::manual_unwrap_or
)]

mod common;

use std::collections::HashMap;
use std::fmt::Display;
use std::num::ParseIntError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::{Probe, TestError, ms};
use steadfast::{Rejected, fallback, retry, timeout};

#[derive(Debug, PartialEq)]
enum SigError {
    Parse(ParseIntError),
    Again(u32),
    Rejected(Rejected),
}

impl From<ParseIntError> for SigError {
    fn from(e: ParseIntError) -> Self {
        SigError::Parse(e)
    }
}

impl From<Rejected> for SigError {
    fn from(r: Rejected) -> Self {
        SigError::Rejected(r)
    }
}

// ------------------------------------------------------------------ receivers

#[derive(Default)]
struct Service {
    calls: AtomicU32,
    succeed_on: u32,
}

impl Service {
    #[retry(attempts = 5, backoff = none)]
    #[timeout("1s")]
    async fn by_ref(&self, add: u32) -> Result<u32, TestError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n < self.succeed_on {
            Err(TestError::Transient(n))
        } else {
            Ok(n + add)
        }
    }

    #[retry(attempts = 5, backoff = none)]
    async fn by_arc(self: Arc<Self>) -> Result<u32, TestError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n < self.succeed_on {
            Err(TestError::Transient(n))
        } else {
            Ok(n)
        }
    }

    #[retry(attempts = 5, backoff = none)]
    async fn by_value(self) -> Result<u32, TestError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n < self.succeed_on {
            Err(TestError::Transient(n))
        } else {
            Ok(n)
        }
    }
}

struct Counter {
    tries: u32,
    log: Vec<u32>,
}

impl Counter {
    #[retry(attempts = 5, backoff = fixed("1ms"), jitter = none)]
    async fn bump(&mut self, until: u32) -> Result<u32, TestError> {
        self.tries += 1;
        self.log.push(self.tries);
        if self.tries < until {
            Err(TestError::Transient(self.tries))
        } else {
            Ok(self.tries)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn ref_self_method_is_retried() {
    let s = Service {
        succeed_on: 3,
        ..Service::default()
    };
    assert_eq!(s.by_ref(100).await, Ok(103));
    assert_eq!(s.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn mut_self_state_persists_across_attempts() {
    let mut c = Counter {
        tries: 0,
        log: Vec::new(),
    };
    assert_eq!(c.bump(4).await, Ok(4));
    assert_eq!(c.tries, 4);
    assert_eq!(c.log, [1, 2, 3, 4]);
    // And across calls: 4 < 6, one more failure (5), then 6.
    assert_eq!(c.bump(6).await, Ok(6));
    assert_eq!(c.log, [1, 2, 3, 4, 5, 6]);
}

#[tokio::test(start_paused = true)]
async fn arc_self_and_self_by_value_are_retried() {
    let s = Arc::new(Service {
        succeed_on: 2,
        ..Service::default()
    });
    assert_eq!(s.clone().by_arc().await, Ok(2));
    assert_eq!(s.calls.load(Ordering::SeqCst), 2);
    let owned = Service {
        succeed_on: 3,
        ..Service::default()
    };
    assert_eq!(owned.by_value().await, Ok(3));
}

// ------------------------------------------------ generics, lifetimes, impl

#[retry(attempts = 3, backoff = none)]
async fn generic_where<T, K>(map: &HashMap<K, T>, key: &K, p: &Probe) -> Result<T, TestError>
where
    T: Clone + Send + Sync,
    K: std::hash::Hash + Eq + Sync,
{
    let n = p.hit();
    if n < 2 {
        return Err(TestError::Transient(n));
    }
    map.get(key).cloned().ok_or(TestError::Permanent(n))
}

#[retry(attempts = 2, backoff = none)]
#[timeout("1s")]
async fn generic_error<E: From<Rejected> + From<u8>>(fail: bool) -> Result<u8, E> {
    if fail { Err(E::from(7)) } else { Ok(1) }
}

#[derive(Debug, PartialEq)]
enum Generic {
    Byte(u8),
    Rejected(Rejected),
}
impl From<u8> for Generic {
    fn from(b: u8) -> Self {
        Generic::Byte(b)
    }
}
impl From<Rejected> for Generic {
    fn from(r: Rejected) -> Self {
        Generic::Rejected(r)
    }
}

#[retry(attempts = 2, backoff = none)]
async fn const_generic<const N: usize>(bytes: [u8; N], p: &Probe) -> Result<usize, TestError> {
    let n = p.hit();
    if n < 2 {
        Err(TestError::Transient(n))
    } else {
        Ok(N + usize::from(bytes[0]))
    }
}

#[tokio::test(start_paused = true)]
async fn generics_with_where_clauses() {
    let map = HashMap::from([("a", String::from("alpha"))]);
    let p = Probe::new();
    assert_eq!(generic_where(&map, &"a", &p).await, Ok("alpha".to_string()));
    assert_eq!(p.calls(), 2);
    let p = Probe::new();
    assert_eq!(
        generic_where(&map, &"z", &p).await,
        Err(TestError::Permanent(3))
    );
    assert_eq!(generic_error::<Generic>(true).await, Err(Generic::Byte(7)));
    assert_eq!(generic_error::<Generic>(false).await, Ok(1));
    let p = Probe::new();
    assert_eq!(const_generic([5, 0, 0], &p).await, Ok(8));
}

#[retry(attempts = 3, backoff = none)]
async fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str, p: &Probe) -> Result<&'a str, TestError> {
    let n = p.hit();
    if n < 3 {
        return Err(TestError::Transient(n));
    }
    Ok(if a.len() >= b.len() { a } else { b })
}

#[retry(attempts = 2, backoff = none)]
#[timeout("1s")]
async fn elided(s: &str) -> Result<&str, TestError> {
    s.split(',').next().ok_or(TestError::Permanent(0))
}

struct Parser<'src> {
    src: &'src str,
}

impl<'src> Parser<'src> {
    #[retry(attempts = 2, backoff = none)]
    async fn word<'x>(&'x self, index: usize) -> Result<&'src str, TestError>
    where
        'src: 'x,
    {
        self.src
            .split(' ')
            .nth(index)
            .ok_or(TestError::Permanent(index as u32))
    }
}

#[tokio::test(start_paused = true)]
async fn lifetimes_and_borrowed_returns() {
    let p = Probe::new();
    let a = String::from("longer");
    assert_eq!(longest(&a, "short", &p).await, Ok("longer"));
    assert_eq!(p.calls(), 3);
    assert_eq!(elided("x,y").await, Ok("x"));
    let text = String::from("alpha beta");
    let word = {
        let parser = Parser { src: &text };
        parser.word(1).await.unwrap()
    };
    assert_eq!(word, "beta");
}

#[retry(attempts = 3, backoff = none)]
async fn impl_trait_args(
    label: impl Display + Sync,
    items: impl IntoIterator<Item = u32> + Clone + Sync,
    p: &Probe,
) -> Result<String, TestError> {
    let n = p.hit();
    if n < 2 {
        return Err(TestError::Transient(n));
    }
    let sum: u32 = items.clone().into_iter().sum();
    Ok(format!("{label}={sum}"))
}

#[timeout("1s")]
async fn impl_trait_ok(p: &Probe) -> Result<impl Display + use<>, TestError> {
    let n = p.hit();
    if n < 1 {
        Err(TestError::Transient(n))
    } else {
        Ok(n * 11)
    }
}

#[fallback(|_e| Ok(vec![0].into_iter()))]
#[timeout("1s")]
async fn impl_iterator_ok(fail: bool) -> Result<impl Iterator<Item = u32>, TestError> {
    if fail {
        Err(TestError::Permanent(0))
    } else {
        Ok(vec![1, 2, 3].into_iter())
    }
}

#[tokio::test(start_paused = true)]
async fn impl_trait_in_arguments_and_ok_type() {
    let p = Probe::new();
    assert_eq!(
        impl_trait_args("sum", vec![1, 2, 3], &p).await.unwrap(),
        "sum=6"
    );
    assert_eq!(p.calls(), 2);
    let p = Probe::new();
    assert_eq!(impl_trait_ok(&p).await.unwrap().to_string(), "11");
    assert_eq!(
        impl_iterator_ok(false).await.unwrap().collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        impl_iterator_ok(true).await.unwrap().collect::<Vec<_>>(),
        [0]
    );
}

struct Pair {
    left: u32,
    right: u32,
}

#[retry(attempts = 3, backoff = none)]
async fn pattern_args(
    (a, b): (u32, u32),
    Pair { left, right: r }: Pair,
    _: u8,
    [first, .., last]: [u32; 4],
    p: &Probe,
) -> Result<u32, TestError> {
    let n = p.hit();
    if n < 2 {
        Err(TestError::Transient(n))
    } else {
        Ok(a * 10_000 + b * 1000 + left * 100 + r * 10 + first + last)
    }
}

#[retry(attempts = 3, backoff = none)]
async fn mut_binding(mut budget: u32) -> Result<u32, TestError> {
    budget -= 1;
    if budget > 7 {
        Err(TestError::Transient(budget))
    } else {
        Ok(budget)
    }
}

#[tokio::test(start_paused = true)]
async fn pattern_arguments() {
    let p = Probe::new();
    assert_eq!(
        pattern_args((1, 2), Pair { left: 3, right: 4 }, 0, [5, 0, 0, 6], &p).await,
        Ok(12_345 + 6)
    );
    assert_eq!(p.calls(), 2);
    // A `mut` binding is the function's own variable: attempts see each other's
    // changes, as iterations of a loop over the same local would.
    assert_eq!(mut_binding(10).await, Ok(7));
}

// ------------------------------------------------------------ attributes kept

/// Documented: this doc comment must survive the expansion.
#[retry(attempts = 2, backoff = none)]
#[cfg(any())]
async fn configured_out() -> Result<u32, TestError> {
    Ok(1)
}

/// The one that exists. If `#[cfg(any())]` above were dropped, this would be
/// a duplicate definition.
#[retry(attempts = 2, backoff = none)]
#[cfg(all())]
#[doc = "more docs"]
#[allow(clippy::unused_async)]
async fn configured_out() -> Result<u32, TestError> {
    Ok(2)
}

#[retry(attempts = 2, backoff = none)]
/// A doc comment between toolkit attributes.
#[timeout("1s")]
#[cfg_attr(all(), allow(unused_variables))]
async fn cfg_param(#[cfg(any())] gone: u32, kept: u32) -> Result<u32, TestError> {
    let unused = 0;
    Ok(kept)
}

#[tokio::test(start_paused = true)]
async fn cfg_and_doc_attributes_are_preserved() {
    assert_eq!(configured_out().await, Ok(2));
    assert_eq!(cfg_param(5).await, Ok(5));
}

// --------------------------------------------------------- `?` and `return`

#[retry(attempts = 3, backoff = none)]
async fn question_mark(input: &str, p: &Probe) -> Result<u32, SigError> {
    p.hit();
    let v: u32 = input.parse()?;
    Ok(v + 1)
}

#[retry(attempts = 4, backoff = none)]
#[timeout("1s")]
async fn early_return(p: &Probe) -> Result<u32, SigError> {
    let n = p.hit();
    if n < 3 {
        return Err(SigError::Again(n));
    }
    if n == 3 {
        return Ok(30);
    }
    Err(SigError::Again(n))
}

#[tokio::test(start_paused = true)]
async fn question_mark_converts_and_ends_the_attempt() {
    let p = Probe::new();
    assert_eq!(question_mark("41", &p).await, Ok(42));
    assert_eq!(p.calls(), 1);
    let p = Probe::new();
    let e = question_mark("x", &p).await.unwrap_err();
    assert!(matches!(e, SigError::Parse(_)), "{e:?}");
    assert_eq!(p.calls(), 3, "an error from `?` is a failed attempt");
}

// `allow`: see `bug_diverging_body_warns_unreachable_code`.
#[allow(unreachable_code, clippy::needless_return)]
#[retry(attempts = 4, backoff = none)]
async fn return_as_last_statement(p: &Probe) -> Result<u32, SigError> {
    let n = p.hit();
    match n {
        1 | 2 => return Err(SigError::Again(n)),
        _ => {}
    }
    return Ok(n * 100);
}

#[tokio::test(start_paused = true)]
async fn return_as_the_last_statement() {
    let p = Probe::new();
    assert_eq!(return_as_last_statement(&p).await, Ok(300));
    assert_eq!(p.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn return_ends_the_attempt_with_its_value() {
    let p = Probe::new();
    assert_eq!(early_return(&p).await, Ok(30));
    assert_eq!(
        p.calls(),
        3,
        "`return Ok(..)` ended the call: no 4th attempt"
    );
}

#[retry(attempts = 3, backoff = none)]
async fn nested_closures(input: &str, p: &Probe) -> Result<u32, SigError> {
    p.hit();
    // `?` and `return` here belong to the closures.
    let parse = |s: &str| -> Result<u32, ParseIntError> {
        let v = s.parse::<u32>()?;
        Ok(v * 2)
    };
    let early = |x: u32| {
        if x > 5 {
            return 500;
        }
        x
    };
    let doubled = match parse(input) {
        Ok(v) => v,
        Err(_) => 0,
    };
    Ok(early(doubled) + 1)
}

#[retry(attempts = 3, backoff = none)]
#[timeout("1s")]
async fn nested_async_blocks(input: &str, p: &Probe) -> Result<u32, SigError> {
    p.hit();
    let parsed = async {
        let v: u32 = input.parse()?;
        Ok::<u32, ParseIntError>(v)
    }
    .await;
    let bounded = async {
        if parsed.is_err() {
            return 7;
        }
        tokio::task::yield_now().await;
        9
    }
    .await;
    let sum = async move |x: u32| -> Result<u32, SigError> {
        let extra: u32 = "1".parse()?;
        if x == 0 {
            return Ok(extra);
        }
        Ok(x + extra)
    };
    Ok(sum(bounded).await? + parsed.unwrap_or(100))
}

#[tokio::test(start_paused = true)]
async fn question_mark_and_return_in_nested_closures_stay_local() {
    let p = Probe::new();
    assert_eq!(nested_closures("2", &p).await, Ok(5));
    assert_eq!(nested_closures("3", &p).await, Ok(501));
    assert_eq!(nested_closures("nope", &p).await, Ok(1));
    assert_eq!(p.calls(), 3, "every call succeeded on its first attempt");
}

#[tokio::test(start_paused = true)]
async fn question_mark_and_return_in_nested_async_blocks_stay_local() {
    let p = Probe::new();
    assert_eq!(nested_async_blocks("5", &p).await, Ok(10 + 5));
    assert_eq!(nested_async_blocks("x", &p).await, Ok(8 + 100));
    assert_eq!(p.calls(), 2, "every call succeeded on its first attempt");
}

#[retry(attempts = 3, backoff = none)]
async fn loops_and_labels(p: &Probe) -> Result<u32, TestError> {
    let n = p.hit();
    let mut found = 0;
    'outer: for i in 0..10 {
        for j in 0..10 {
            if i * j == 12 {
                found = i * 10 + j;
                break 'outer;
            }
        }
    }
    let v = loop {
        break found;
    };
    if n < 2 {
        return Err(TestError::Transient(n));
    }
    Ok(v)
}

#[tokio::test(start_paused = true)]
async fn loops_and_labelled_breaks_are_untouched() {
    let p = Probe::new();
    assert_eq!(loops_and_labels(&p).await, Ok(26));
    assert_eq!(p.calls(), 2);
}

// --------------------------------------------------------------------- Send

#[fallback(|_e| Ok(0))]
#[retry(attempts = 3, backoff = fixed("1ms"))]
#[timeout("1s")]
async fn sendable(p: Arc<Probe>, label: String) -> Result<usize, TestError> {
    let n = p.hit();
    tokio::task::yield_now().await;
    if n < 2 {
        Err(TestError::Transient(n))
    } else {
        Ok(label.len() + n as usize)
    }
}

#[retry(attempts = 2, backoff = exponential("1ms", max = "5ms"), jitter = decorrelated)]
async fn sendable_decorrelated(p: Arc<Probe>) -> Result<u32, TestError> {
    let n = p.hit();
    tokio::task::yield_now().await;
    if n < 2 {
        Err(TestError::Transient(n))
    } else {
        Ok(n)
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

// `tokio::spawn` requires `Send` whatever the runtime flavor; paused time keeps
// the retries' sleeps virtual.
#[tokio::test(start_paused = true)]
async fn annotated_futures_stay_send_and_spawn() {
    let p = Arc::new(Probe::new());
    let handle = tokio::spawn(assert_send(sendable(p.clone(), "abc".into())));
    assert_eq!(handle.await.unwrap(), Ok(5));
    let handle = tokio::spawn(assert_send(sendable_decorrelated(Arc::new(Probe::new()))));
    assert_eq!(handle.await.unwrap(), Ok(2));
    let s = Arc::new(Service {
        succeed_on: 2,
        ..Service::default()
    });
    assert_eq!(tokio::spawn(s.clone().by_arc()).await.unwrap(), Ok(2));
    let handle = tokio::spawn(async move { s.by_ref(1).await });
    assert_eq!(handle.await.unwrap(), Ok(4));
    let store = Arc::new(MemStore {
        probe: Probe::new(),
    });
    let handle = tokio::spawn(async move { store.load(3).await });
    assert_eq!(handle.await.unwrap(), Ok(30));
}

// ----------------------------------------------------- async fn in traits

trait Store {
    type Error;
    async fn load(&self, id: u32) -> Result<u32, Self::Error>;

    #[retry(attempts = 3, backoff = none)]
    async fn load_twice(&self, id: u32) -> Result<u32, Self::Error> {
        Ok(self.load(id).await? + self.load(id).await?)
    }
}

struct MemStore {
    probe: Probe,
}

impl Store for MemStore {
    type Error = TestError;

    #[retry(attempts = 3, backoff = fixed("5ms"), jitter = none)]
    #[timeout("1s")]
    async fn load(&self, id: u32) -> Result<u32, Self::Error> {
        let n = self.probe.hit();
        if n % 2 == 1 {
            Err(TestError::Transient(n))
        } else {
            Ok(id * 10)
        }
    }
}

async fn through_generic<S: Store>(store: &S, id: u32) -> Result<u32, S::Error> {
    store.load_twice(id).await
}

#[tokio::test(start_paused = true)]
async fn async_fn_in_traits_impls_and_default_methods() {
    let store = MemStore {
        probe: Probe::new(),
    };
    let start = tokio::time::Instant::now();
    assert_eq!(store.load(4).await, Ok(40));
    assert_eq!(start.elapsed(), ms(5));
    store.probe.reset();
    // Each `load` fails once (odd attempt) then succeeds.
    assert_eq!(through_generic(&store, 2).await, Ok(40));
    assert_eq!(store.probe.calls(), 4);
}

struct Connection {
    id: u32,
}

impl Connection {
    #[retry(attempts = 3, backoff = none)]
    #[timeout("1s")]
    async fn connect(p: &Probe) -> Result<Self, TestError> {
        let n = p.hit();
        if n < 3 {
            Err(TestError::Transient(n))
        } else {
            Ok(Self { id: n })
        }
    }
}

#[tokio::test(start_paused = true)]
async fn self_in_the_return_type() {
    let p = Probe::new();
    assert_eq!(Connection::connect(&p).await.unwrap().id, 3);
}

#[retry(attempts = 3, backoff = none)]
async fn mutable_borrowed_arg(log: &mut Vec<u32>) -> Result<usize, TestError> {
    log.push(log.len() as u32);
    if log.len() < 3 {
        Err(TestError::Transient(log.len() as u32))
    } else {
        Ok(log.len())
    }
}

#[tokio::test(start_paused = true)]
async fn mutable_borrowed_argument_is_shared_by_attempts() {
    let mut log = Vec::new();
    assert_eq!(mutable_borrowed_arg(&mut log).await, Ok(3));
    assert_eq!(log, [0, 1, 2]);
}

// ------------------------------------------- nested items, coercions kept

#[retry(attempts = 2, backoff = none)]
#[timeout("1s")]
async fn nested_items(x: u32) -> Result<u32, TestError> {
    fn helper(v: u32) -> u32 {
        if v > 1 {
            return v * 2;
        }
        v
    }
    struct Local;
    impl Local {
        fn get(&self) -> Option<u32> {
            return Some(4);
        }
    }
    const K: u32 = 100;
    Ok(helper(x) + Local.get().unwrap() + K)
}

struct Named {
    name: String,
}

impl Named {
    #[retry(attempts = 2, backoff = none)]
    async fn name(&self, first_only: bool) -> Result<&str, TestError> {
        if first_only {
            return Ok(&self.name[..1]);
        }
        Ok(&self.name)
    }

    #[timeout("1s")]
    async fn name_or_box(
        &self,
        fail: bool,
    ) -> Result<&str, Box<dyn std::error::Error + Send + Sync>> {
        if fail {
            return Err(Box::new(std::fmt::Error));
        }
        Ok(&self.name)
    }
}

#[tokio::test(start_paused = true)]
async fn nested_items_and_coercions_behave_as_without_the_attribute() {
    assert_eq!(nested_items(3).await, Ok(110));
    assert_eq!(nested_items(1).await, Ok(105));
    let n = Named {
        name: "steadfast".into(),
    };
    assert_eq!(n.name(false).await, Ok("steadfast"));
    assert_eq!(n.name(true).await, Ok("s"));
    assert_eq!(n.name_or_box(false).await.unwrap(), "steadfast");
    assert!(
        n.name_or_box(true)
            .await
            .unwrap_err()
            .is::<std::fmt::Error>()
    );
}

// ------------------------------------------- impl Trait in the Ok type, retried

#[retry(attempts = 3, backoff = none)]
async fn retried_impl_display(n: u32) -> Result<impl std::fmt::Display, String> {
    if n == 0 {
        Err("zero".to_string())
    } else {
        Ok(n * 11)
    }
}

#[retry(attempts = 3, backoff = none)]
#[timeout("1s")]
async fn retried_impl_iterator(n: u32) -> Result<impl Iterator<Item = u32>, steadfast::Rejected> {
    Ok(0..n)
}

#[tokio::test]
async fn retry_with_impl_trait_in_the_ok_type() {
    assert_eq!(retried_impl_display(3).await.unwrap().to_string(), "33");
    assert_eq!(
        retried_impl_display(0).await.err(),
        Some("zero".to_string())
    );
    assert_eq!(retried_impl_iterator(3).await.unwrap().sum::<u32>(), 3);
}
