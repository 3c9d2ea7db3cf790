use steadfast::rate_limit;

#[rate_limit(per = "1s", burst = 5)]
async fn send() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
