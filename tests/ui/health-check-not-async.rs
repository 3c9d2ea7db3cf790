use steadfast::health_check;

#[health_check(every = "5s")]
fn ping() -> Result<(), String> {
    Ok(())
}

fn main() {}
