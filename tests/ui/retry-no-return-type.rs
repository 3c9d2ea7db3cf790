use steadfast::retry;

#[retry]
async fn fetch() {}

fn main() {}
