use steadfast::health_check;

#[derive(Debug)]
struct Down;

#[health_check(every = "5s")]
async fn ping() -> Result<(), Down> {
    Err(Down)
}

fn main() {}
