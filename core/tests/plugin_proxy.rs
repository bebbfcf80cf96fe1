//! The plugins' HTTP client ignores proxy variables: through a proxy, a host name is resolved by
//! the proxy, past the guard that refuses private addresses. Its own test binary, because it sets
//! the process's environment.
#![allow(unsafe_code)]

use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpListener;

#[tokio::test]
async fn the_plugins_http_client_never_goes_through_a_proxy_from_the_environment() {
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", proxy.local_addr().unwrap());
    // SAFETY: this binary holds this one test; nothing else reads the environment meanwhile.
    unsafe {
        for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
            std::env::set_var(name, &url);
        }
    }
    let client = socle_core::plugins::host::http::client(&[]).unwrap();
    // A private address the guard refuses: through the proxy it would have been asked for.
    let sent = client.get("https://intranet.socle.invalid/").send().await;
    assert!(sent.is_err(), "the request failed at the guard: {sent:?}");
    let reached = tokio::time::timeout(Duration::from_millis(500), proxy.accept()).await;
    if let Ok(Ok((mut stream, _))) = reached {
        let mut asked = vec![0; 256];
        let n = stream.read(&mut asked).await.unwrap_or(0);
        panic!("the proxy was asked: {}", String::from_utf8_lossy(&asked[..n]));
    }
}
