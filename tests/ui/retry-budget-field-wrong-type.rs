use steadfast::{Retry, retry};

struct Client {
    budget: Retry,
}

impl Client {
    #[retry(budget = self.budget)]
    async fn fetch(&self) -> std::io::Result<u32> {
        Ok(1)
    }
}

fn main() {}
