use steadfast::{Rejected, retry, timeout};

#[derive(Debug)]
struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

// `#[retry]` works on a plain `fn`; `#[timeout]` below it does not, and the
// error points at it.
#[retry(attempts = 3)]
#[timeout("1s")]
fn fetch() -> Result<u32, Error> {
    Ok(1)
}

fn main() {}
