//! `http`: outbound requests to the hosts the manifest declares and the tenant granted, over a
//! client whose resolver refuses private, loopback and link-local addresses (an SSRF guard that
//! holds against DNS rebinding: the check is on the addresses actually connected to). Hosts in
//! `plugins.allow_private_hosts` (a local fake operator in development) are exempt.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::invocation::Invocation;
use super::socle::plugin::http::{Host, Request, Response};
use super::socle::plugin::types::HostError;

capability!(Http => HttpHost {
    #[doc = "The guarded client (private addresses refused at resolution)."] client: reqwest::Client,
    #[doc = "Hosts allowed over plain HTTP and on private addresses (tests, on-premise)."] allow_private_hosts: [String]
});

const MAX_REQUEST_BODY: usize = 5 * 1024 * 1024;
const MAX_RESPONSE_BODY: usize = 10 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Whether an address is one a plugin must never reach.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0b1100_0000) == 64 // 100.64.0.0/10
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// A resolver that drops private addresses unless the host is allow-listed.
struct GuardedResolver {
    allow: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let allowed = self.allow.iter().any(|a| a == &host);
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = addresses.into_iter().filter(|a| allowed || !is_private(a.ip())).collect();
            if usable.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = format!("{host} resolves only to private addresses").into();
                return Err(err);
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The IP address a URL names directly, if it does.
fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// An error with its causes, `: `-separated (reqwest's own message omits them).
fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The client plugins' requests go through. It ignores `HTTP(S)_PROXY` and `ALL_PROXY`: through
/// a proxy the name would be resolved by the proxy, past the guard that refuses private
/// addresses, so a plugin could reach the platform's own network.
pub fn client(allow_private_hosts: &[String]) -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow: Arc::new(allow_private_hosts.to_vec()) }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent("Socle-Plugin/1")
        .build()?)
}

impl Host for HttpHost<'_> {
    async fn fetch(&mut self, req: Request) -> wasmtime::Result<Result<Response, HostError>> {
        self.inv.charge()?;
        let invalid = |message: String| HostError::Invalid(vec![super::WitFieldError { field: "url".into(), message }]);
        let Ok(url) = url::Url::parse(&req.url) else { return Ok(Err(invalid(format!("`{}` is not an absolute URL", req.url)))) };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else { return Ok(Err(invalid("the URL has no host".into()))) };
        if let Err(e) = self.inv.guest.granted.check("http", Some(&host)).map_err(|missing| self.inv.deny(missing)) {
            return Ok(Err(e));
        }
        // No network for code under review.
        if self.inv.tenant.slug.is_review_sandbox() {
            return Ok(Err(HostError::Unavailable(format!("no outbound network during the marketplace's review ({host} not called)"))));
        }
        let allowed_insecure = self.allow_private_hosts.iter().any(|h| h == &host);
        // Addresses written in the URL never reach the resolver: check them here.
        if let Some(ip) = literal_ip(&url)
            && is_private(ip)
            && !allowed_insecure
        {
            return Ok(Err(self.inv.deny(format!("`{host}` is a private address"))));
        }
        match url.scheme() {
            "https" => {}
            "http" if allowed_insecure => {}
            other => return Ok(Err(invalid(format!("`{other}` URLs are refused; use https")))),
        }
        let Ok(method) = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()) else {
            return Ok(Err(invalid(format!("`{}` is not an HTTP method", req.method))));
        };
        if req.body.as_ref().is_some_and(|b| b.len() > MAX_REQUEST_BODY) {
            return Ok(Err(invalid("request bodies are at most 5 MiB".into())));
        }
        let mut request = self.client.request(method, url);
        for (name, value) in &req.headers {
            if !matches!(name.to_ascii_lowercase().as_str(), "host" | "connection" | "transfer-encoding" | "content-length") {
                request = request.header(name, value);
            }
        }
        if let Some(body) = req.body {
            request = request.body(body);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let message = if e.is_timeout() {
                    format!("{host} did not answer within {}s", TIMEOUT.as_secs())
                } else {
                    format!("request to {host} failed: {}", chain(&e))
                };
                return Ok(Err(HostError::Unavailable(message)));
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_owned()))).collect();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                        return Ok(Err(HostError::Unavailable(format!("the response of {host} is larger than 10 MiB"))));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Ok(Err(HostError::Unavailable(format!("reading the response of {host} failed: {e}")))),
            }
        }
        Ok(Ok(Response { status, headers, body }))
    }
}
