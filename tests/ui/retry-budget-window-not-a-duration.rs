use steadfast::RetryBudget;

static RETRIES: RetryBudget = RetryBudget::builder()
    .window("10 sec")
    .build();

fn main() {
    let _ = &RETRIES;
}
