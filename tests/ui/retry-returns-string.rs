use steadfast::retry;

#[retry]
async fn fetch() -> String {
    String::new()
}

fn main() {}
