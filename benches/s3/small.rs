//! Small objects: PUT, then GET, of `object_bytes` objects by `clients`
//! concurrent clients, each on its own connection, for `phase` each; the
//! same client code against Yukari and against moto_server.

use crate::client::{Endpoint, S3Client, sha256_hex};
use anyhow::{Context, Result};
use std::time::{Duration, Instant};

/// Operations per second in each phase.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub put: f64,
    pub get: f64,
}

pub const BUCKET: &str = "s3-bench";

/// Runs both phases on `endpoint`, whose bucket [`BUCKET`] exists.
pub async fn measure(
    endpoint: &Endpoint,
    clients: usize,
    object_bytes: usize,
    phase: Duration,
) -> Result<Rates> {
    let body: Vec<u8> = (0..object_bytes).map(|i| (i * 31 % 251) as u8).collect();
    let hash = sha256_hex(&body);
    let clients = (0..clients).map(|_| S3Client::new(endpoint)).collect::<Result<Vec<_>>>()?;

    // PUT: each client writes its own keys, after one warm-up request.
    for (c, client) in clients.iter().enumerate() {
        client.put(&format!("/{BUCKET}/warm-{c}"), &body, &hash).await?;
    }
    let began = Instant::now();
    let deadline = began + phase;
    let mut tasks = Vec::new();
    for (c, client) in clients.into_iter().enumerate() {
        let (body, hash) = (body.clone(), hash.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < deadline {
                client.put(&format!("/{BUCKET}/k-{c}-{n}"), &body, &hash).await?;
                n += 1;
            }
            Ok::<_, anyhow::Error>((client, n))
        }));
    }
    let mut done = Vec::new();
    for task in tasks {
        done.push(task.await.context("a PUT client panicked")??);
    }
    let puts: usize = done.iter().map(|(_, n)| n).sum();
    let put = puts as f64 / began.elapsed().as_secs_f64();

    // GET: each client reads back its own keys, round robin.
    let began = Instant::now();
    let deadline = began + phase;
    let mut tasks = Vec::new();
    for (c, (client, written)) in done.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < deadline {
                let got = client.get(&format!("/{BUCKET}/k-{c}-{}", n % written.max(1))).await?;
                anyhow::ensure!(got == object_bytes, "GET returned {got} bytes, not {object_bytes}");
                n += 1;
            }
            Ok::<_, anyhow::Error>(n)
        }));
    }
    let mut gets = 0;
    for task in tasks {
        gets += task.await.context("a GET client panicked")??;
    }
    let get = gets as f64 / began.elapsed().as_secs_f64();
    Ok(Rates { put, get })
}
