use steadfast::rate_limit;

#[rate_limit(rate = 0)]
async fn send() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
