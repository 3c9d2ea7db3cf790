use steadfast::RetryBudget;

static RETRIES: RetryBudget = RetryBudget::builder()
    .window("500ms")
    .build();

fn main() {
    let _ = &RETRIES;
}
