use steadfast::health_check;

#[health_check(every = "5s")]
async fn ping() -> Result<u32, String> {
    Ok(7)
}

fn main() {}
