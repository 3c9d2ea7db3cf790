use steadfast::health_check;

#[health_check(every = "5s")]
async fn ping(host: &str) -> Result<(), String> {
    let _ = host;
    Ok(())
}

fn main() {}
