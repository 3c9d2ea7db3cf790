use std::time::Duration;
use steadfast::RetryBudget;

static RETRIES: RetryBudget = RetryBudget::builder()
    .window(Duration::from_millis(500))
    .build();

fn main() {
    let _ = &RETRIES;
}
