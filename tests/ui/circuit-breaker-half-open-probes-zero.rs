use steadfast::circuit_breaker;

#[circuit_breaker(half_open_probes = 0)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
