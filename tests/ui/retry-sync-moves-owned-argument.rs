use steadfast::retry;

fn transmit(_payload: String) -> Result<usize, String> {
    Ok(0)
}

// A retried body runs once per attempt: it cannot move an owned argument,
// on a plain `fn` as on an `async fn`.
#[retry(attempts = 3)]
fn send(payload: String) -> Result<usize, String> {
    transmit(payload)
}

fn main() {}
