use steadfast::rate_limit;

#[rate_limit(rate = 10, per = "0s")]
async fn send() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
