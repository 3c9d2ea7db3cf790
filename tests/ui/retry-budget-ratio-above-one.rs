use steadfast::RetryBudget;

static RETRIES: RetryBudget = RetryBudget::builder().ratio(1.5).build();

fn main() {
    let _ = &RETRIES;
}
