use std::time::Duration;

#[steadfast::circuit_breaker(open_for = pause)]
async fn fetch(id: u32, pause: Duration) -> std::io::Result<u32> {
    let _ = pause;
    Ok(id)
}

fn main() {
    let _ = fetch(1, Duration::from_secs(1));
}
