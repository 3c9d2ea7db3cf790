use steadfast::retry;

trait Service {
    #[retry]
    async fn fetch(&self) -> Result<u32, String>;
}

fn main() {}
