use steadfast::rate_limit;

#[rate_limit(rate = 10)]
async fn send() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
