use steadfast::{RetryBudget, retry};

static A: RetryBudget = RetryBudget::builder().build();
static B: RetryBudget = RetryBudget::builder().build();

#[retry(budget = A, budget = B)]
async fn fetch() -> std::io::Result<u32> {
    Ok(1)
}

fn main() {}
