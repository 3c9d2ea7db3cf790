#!/usr/bin/env python3
"""Compile cost of the attributes: generates two crates of 200 functions each
— one with steadfast's attributes, one with hand-written equivalents on the
same runtime (the programmatic API the attributes expand to, or plain code
where that is what one would write) — builds both against the same
dependencies, and prints build time (median of 3 rebuilds of the crate itself,
dependencies already built) and stripped binary size, with their ratios.

Usage: scripts/compile_cost.py [functions]   (default 200)
"""
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
REPO = pathlib.Path(__file__).resolve().parent.parent
WORK = REPO / "target" / "compile-cost"
TARGET = WORK / "target"

HEADER = """use std::io;
#[allow(unused_imports)]
use std::time::Duration;

#[allow(unused_imports)]
use steadfast::{Bulkhead, CircuitBreaker, Failure, Rejected, Retry, Timeout};

#[inline(never)]
async fn work(x: u64) -> io::Result<u64> {
    if x == u64::MAX { Err(io::Error::other("no")) } else { Ok(x.wrapping_mul(31)) }
}
"""

# Every function has the same two-statement body, `BODY`. By hand, a body
# with `?` in it needs a block of its own to be retried, timed or guarded: an
# `async` block, as the attributes use.
BODY = """let y = work(x).await?;
    Ok(y + 1)"""
BLOCK = "async {\n        let y = work(x).await?;\n        Ok::<_, io::Error>(y + 1)\n    }"

# (attributes, hand-written equivalent) per shape; {i} is the function's number.
SHAPES = [
    ("#[steadfast::retry(attempts = 3)]",
     """    static RETRY: Retry = Retry::builder().attempts(3).build();
    let mut attempts = RETRY.start();
    loop {
        let outcome = BLOCK.await.map_err(Failure::<io::Error, Rejected>::Error);
        if let std::ops::ControlFlow::Break(result) =
            attempts.next(outcome, |_: &io::Error| true, |_: &io::Error| None).await
        {
            return result.map_err(Failure::into_error);
        }
    }"""),
    ('#[steadfast::timeout("1s")]',
     """    static TIMEOUT: Timeout = Timeout::new(Duration::from_secs(1));
    TIMEOUT.run(BLOCK).await.unwrap_or_else(|rejected| Err(rejected.into()))"""),
    ("#[steadfast::circuit_breaker]",
     """    static BREAKER: CircuitBreaker = CircuitBreaker::builder().name("f{i}").build();
    BREAKER.run(BLOCK).await.map_err(Failure::into_error)"""),
    ("#[steadfast::bulkhead]",
     """    static BULKHEAD: Bulkhead = Bulkhead::builder().name("f{i}").build();
    BULKHEAD.run(BLOCK).await.map_err(Failure::into_error)"""),
    ("#[steadfast::fallback(|_e| Ok(0))]",
     """    match BLOCK.await {
        Ok(v) => Ok(v),
        Err(_) => Ok(0),
    }"""),
]
SHAPES = [(attrs, body.replace("BLOCK", BLOCK)) for attrs, body in SHAPES]


def generate(name, annotated):
    root = WORK / name
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(f"""[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
steadfast = {{ path = "{REPO}" }}
tokio = {{ version = "1", features = ["rt", "time"] }}

[workspace]
""")
    shutil.copy(REPO / "Cargo.lock", root / "Cargo.lock")
    out = [HEADER]
    for i in range(N):
        attrs, body = SHAPES[i % len(SHAPES)]
        body = body.replace("{i}", str(i))
        if annotated:
            out.append(f"{attrs}\npub async fn f{i}(x: u64) -> io::Result<u64> {{\n    {BODY}\n}}\n")
        else:
            out.append(f"pub async fn f{i}(x: u64) -> io::Result<u64> {{\n{body}\n}}\n")
    calls = "\n".join(f"        sum = sum.wrapping_add(f{i}(sum).await.unwrap_or(0));" for i in range(N))
    out.append(f"""fn main() {{
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let sum = rt.block_on(async {{
        let mut sum = 1u64;
{calls}
        sum
    }});
    println!("{{sum}}");
}}
""")
    (root / "src" / "main.rs").write_text("\n".join(out))
    return root


def build(root, release):
    cmd = ["cargo", "build", "--quiet", "--offline", "--target-dir", str(TARGET)]
    if release:
        cmd.append("--release")
    (root / "src" / "main.rs").touch()
    # Without incremental compilation: the whole crate is compiled each time.
    env = dict(os.environ, CARGO_INCREMENTAL="0")
    start = time.monotonic()
    subprocess.run(cmd, cwd=root, check=True, env=env)
    return time.monotonic() - start


def size(root, release):
    binary = TARGET / ("release" if release else "debug") / root.name
    stripped = WORK / f"{root.name}.stripped"
    subprocess.run(["strip", "-o", str(stripped), str(binary)], check=True)
    return stripped.stat().st_size


def main():
    crates = {"annotated": generate("annotated", True), "handwritten": generate("handwritten", False)}
    results = {}
    for release in (False, True):
        for name, root in crates.items():
            build(root, release)  # dependencies, and a warm cache
            times = [build(root, release) for _ in range(3)]
            results[(name, release)] = (statistics.median(times), size(root, release))
    print(f"\n**Compile cost** ({N} functions, 5 shapes: retry, timeout, circuit_breaker, "
          "bulkhead, fallback; the crate alone rebuilt, median of 3)\n")
    print("| profile | annotated build | hand-written build | ratio | annotated binary | hand-written binary | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for release in (False, True):
        (ta, sa), (th, sh) = results[("annotated", release)], results[("handwritten", release)]
        print(f"| {'release' if release else 'dev'} | {ta:.2f} s | {th:.2f} s | {ta / th:.2f}× "
              f"| {sa / 1024:.0f} KiB | {sh / 1024:.0f} KiB | {sa / sh:.2f}× |")


if __name__ == "__main__":
    main()
