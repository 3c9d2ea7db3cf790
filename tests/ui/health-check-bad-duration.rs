use steadfast::health_check;

#[health_check(every = "5 seconds", timeout = "0ms")]
async fn ping() -> Result<(), String> {
    Ok(())
}

fn main() {}
