use steadfast::circuit_breaker;

// One past the runtime's limit of 65535.
#[circuit_breaker(half_open_probes = 65536, window = 10)]
async fn fetch(id: u32) -> std::io::Result<u32> {
    Ok(id)
}

fn main() {
    let _ = fetch(1);
}
