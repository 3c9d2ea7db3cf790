use std::future::Future;

use steadfast::retry;

#[retry]
async fn fetch() -> impl Future<Output = Result<u32, String>> {
    async { Ok(1) }
}

fn main() {}
