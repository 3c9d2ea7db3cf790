use steadfast::{RetryBudget, retry};

// A `const` is a fresh budget at every use: it would count nothing.
const RETRIES: RetryBudget = RetryBudget::builder().build();

#[retry(budget = RETRIES)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
