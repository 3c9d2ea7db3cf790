use steadfast::rate_limit;

#[rate_limit(rate = 10, max_keys = 100)]
async fn send(tenant: &str) -> std::io::Result<u32> {
    let _ = tenant;
    Ok(1)
}

fn main() {}
