use steadfast::hedge;

struct Client {
    calls: u32,
}

impl Client {
    #[hedge(after = "50ms")]
    async fn fetch(&mut self) -> std::io::Result<u32> {
        self.calls += 1;
        Ok(self.calls)
    }
}

fn main() {}
