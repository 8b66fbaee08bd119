//! The compatibility suite's Rust client (test/compat/rust.test.ts; protocol: docs/COMPATIBILITY.md "Client
//! protocol"): for each `step=url` argument, `http://…` is fetched with reqwest (hyper, tokio; names through
//! getaddrinfo on tokio's blocking pool) and `udp://ip:port/payload` is one datagram sent with std's `UdpSocket`.
//! One line per step: COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail. The same crate as the matrix's function, so
//! one build serves both.
use std::error::Error as _;
use std::net::UdpSocket;
use std::time::Duration;

/// The error identity a program would branch on: reqwest's kind, then the io::Error at the root (errno name when
/// the system call failed, else its message: the resolver's failure has no errno).
fn identity(err: &reqwest::Error) -> String {
    let mut what = String::from(if err.is_connect() { "reqwest::Error(connect)" } else { "reqwest::Error" });
    let mut src = err.source();
    while let Some(e) = src {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            what += &match io.raw_os_error() {
                Some(13) => " > io::Error[EACCES]".to_string(),
                Some(n) => format!(" > io::Error[errno {n}]"),
                None => format!(" > io::Error[{io}]"),
            };
            break;
        }
        src = e.source();
    }
    what
}

fn report(step: &str, ok: bool, what: &str, detail: &str) {
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    println!("COMPAT\t{step}\t{}\t{}\t{}", if ok { "ok" } else { "error" }, clean(what), clean(detail));
}

#[tokio::main]
async fn main() {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(8)).build().expect("client");
    for arg in std::env::args().skip(1) {
        let Some((step, url)) = arg.split_once('=') else { continue };
        if let Some(rest) = url.strip_prefix("udp://") {
            let (addr, payload) = rest.split_once('/').unwrap_or((rest, ""));
            let sent = UdpSocket::bind("0.0.0.0:0").and_then(|s| s.send_to(payload.as_bytes(), addr));
            match sent {
                Ok(n) => report(step, true, &format!("sent {n} bytes"), ""),
                Err(e) if e.raw_os_error() == Some(13) => report(step, false, "io::Error[EACCES]", &e.to_string()),
                Err(e) => report(step, false, &format!("io::Error[{:?}]", e.kind()), &e.to_string()),
            }
            continue;
        }
        match client.get(url).send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                match res.bytes().await {
                    Ok(_) => report(step, true, &format!("HTTP {status}"), ""),
                    Err(e) => report(step, false, &identity(&e), &e.to_string()),
                }
            }
            Err(e) => report(step, false, &identity(&e), &e.to_string()),
        }
    }
}
