//! The runtime matrix's Rust function (test/runtimes/support/matrix.ts has the contract): event
//! {"urls": [...], "probe": [...]} → GET every url with reqwest (an error fails the invoke), GET every probe ignoring
//! errors → {"bytes": N}, the sum of the url bodies.
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    probe: Vec<String>,
}

async fn handler(event: LambdaEvent<Event>) -> Result<Value, Error> {
    let client = reqwest::Client::new();
    let mut total = 0usize;
    for url in &event.payload.urls {
        let body = client.get(url).send().await?.error_for_status()?.bytes().await?;
        total += body.len();
    }
    for url in &event.payload.probe {
        let _ = client.get(url).send().await; // denied destinations: the error is the expected outcome
    }
    Ok(json!({ "bytes": total }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
