// The key adapter of `key = EXPR`, as the attributes expand it, on a value
// that is not `Hash + Eq`: the error names the attributes and what a key needs.

use steadfast::__private::{CircuitBreaker, Keyed};

static STATE: Keyed<CircuitBreaker> = Keyed::new(CircuitBreaker::builder(), 16);

struct Session {
    started: f64,
}

fn main() {
    let session = Session { started: 0.0 };
    let _held = {
        #[allow(unused_imports)]
        use steadfast::__private::{KeyByDeref as _, KeyByRef as _};
        STATE.get((&&(session.started)).__steadfast_key())
    };
}
