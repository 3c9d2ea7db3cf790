use steadfast::health_check;

#[health_check(every = "5s")]
async fn ping() {}

fn main() {}
