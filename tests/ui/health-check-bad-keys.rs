use steadfast::health_check;

#[health_check(evry = "5s", failures_to_act = 0, breaker = "", gates_readiness = "yes")]
async fn ping() -> Result<(), String> {
    Ok(())
}

fn main() {}
