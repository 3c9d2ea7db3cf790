use std::sync::atomic::{AtomicU32, Ordering};
use steadfast::{fallback, retry, timeout};

static CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 4, backoff = exponential("10ms", factor = 2.0, max = "1s"))]
#[timeout("50ms")]
async fn flaky(id: &str) -> Result<String, std::io::Error> {
    let n = CALLS.fetch_add(1, Ordering::SeqCst);
    if n < 2 {
        return Err(std::io::Error::other(format!("boom {n}")));
    }
    let v = std::fs::metadata(".")?;
    Ok(format!("{id} ok after {} calls ({})", n + 1, v.is_dir()))
}

#[fallback(|e| Ok(format!("fallback: {e}")))]
#[retry(attempts = 2, backoff = none)]
async fn always_fails(x: u32) -> Result<String, String> {
    Err(format!("bad {x}"))
}

#[tokio::main]
async fn main() {
    println!("{:?}", flaky("a").await);
    println!("{:?}", always_fails(3).await);
}
