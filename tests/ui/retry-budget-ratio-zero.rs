use steadfast::RetryBudget;

static RETRIES: RetryBudget = RetryBudget::builder().ratio(0.0).build();

fn main() {
    let _ = &RETRIES;
}
