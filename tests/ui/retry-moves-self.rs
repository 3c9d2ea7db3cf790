use steadfast::retry;

struct Client {
    name: String,
}

impl Client {
    #[retry]
    async fn into_name(self) -> Result<String, String> {
        Ok(self.name)
    }
}

fn main() {}
