use std::time::Duration;

struct Client {
    limit: Duration,
}

impl Client {
    // A limit known only at run time cannot configure the attribute.
    #[steadfast::timeout(self.limit)]
    async fn fetch(&self, id: u32) -> std::io::Result<u32> {
        Ok(id)
    }
}

fn main() {
    let client = Client { limit: Duration::from_secs(1) };
    let _ = client.fetch(1);
}
