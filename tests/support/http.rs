//! Tiny HTTP GETs from inside a network namespace (bash's `/dev/tcp`, so no
//! HTTP client is needed), and Prometheus text lookups.

use super::netns::Netns;

/// The body of `GET http://ADDR:PORT/PATH` made inside `ns`, if the server
/// answered with status 200.
pub fn get(ns: &Netns, addr: &str, port: u16, path: &str) -> Option<String> {
    let script = format!(
        "exec 3<>/dev/tcp/{addr}/{port} && \
         printf 'GET {path} HTTP/1.0\\r\\nHost: {addr}\\r\\n\\r\\n' >&3 && cat <&3"
    );
    let out = ns.cmd("bash").args(["-c", &script]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.lines()
        .next()
        .is_some_and(|status| status.split_whitespace().nth(1) == Some("200"))
        .then(|| body.to_owned())
}

/// `POST http://ADDR:PORT/PATH` of the form `form` (already URL-encoded
/// `k=v&…`) with `Authorization: Bearer BEARER`, made inside `ns`: the
/// status and the body.
pub fn post(
    ns: &Netns,
    addr: &str,
    port: u16,
    path: &str,
    bearer: &str,
    form: &str,
) -> Option<(u16, String)> {
    let script = format!(
        "exec 3<>/dev/tcp/{addr}/{port} && \
         printf 'POST {path} HTTP/1.0\\r\\nHost: {addr}\\r\\nAuthorization: Bearer {bearer}\\r\\n\
         Content-Type: application/x-www-form-urlencoded\\r\\nContent-Length: {len}\\r\\n\\r\\n%s' \
         '{form}' >&3 && cat <&3",
        len = form.len()
    );
    let out = ns.cmd("bash").args(["-c", &script]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((status, body.to_owned()))
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("strings encode")
}

/// `/metrics` of the exporter at `127.0.0.1:port` inside `ns`.
pub fn metrics(ns: &Netns, port: u16) -> Option<String> {
    get(ns, "127.0.0.1", port, "/metrics")
}

/// The value of the sample whose name-and-labels part is exactly `series`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(series))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The lines of `text` whose metric name is `name` (for failure reports).
pub fn series_of(text: &str, name: &str) -> String {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
