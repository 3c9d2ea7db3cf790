use steadfast::health_check;

#[health_check(every = "5s", every = "10s")]
async fn ping() -> Result<(), String> {
    Ok(())
}

fn main() {}
