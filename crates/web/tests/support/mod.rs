//! What the hub's HTTP tests share: a small HTTP/1.1 client, form encoding, and
//! a signed-in browser (session cookie and CSRF token).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.head
            .lines()
            .filter_map(|l| {
                l.strip_prefix("set-cookie: ")
                    .or_else(|| l.strip_prefix("Set-Cookie: "))
            })
            .filter_map(|c| {
                c.split(';')
                    .next()?
                    .split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request, the connection closed after it.
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    request_bytes(port, method, path, headers, body.as_bytes())
}

/// [`request`] with a body of any bytes (a workbook upload).
pub fn request_bytes(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    send(
        TcpStream::connect(("127.0.0.1", port)).unwrap(),
        port,
        method,
        path,
        headers,
        body,
    )
}

/// [`request`] from another client: a connection from `source`, an address of
/// this machine's loopback (any of 127/8).
pub fn request_from(
    source: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let stream = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
            let stream = socket
                .connect(format!("127.0.0.1:{port}").parse().unwrap())
                .await
                .unwrap();
            stream.into_std().unwrap()
        });
    stream.set_nonblocking(false).unwrap();
    send(stream, port, method, path, headers, body.as_bytes())
}

fn send(
    mut stream: TcpStream,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        head: head.to_owned(),
        body,
    }
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of a hidden input from a page.
pub fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {body}"));
    let rest = &body[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A signed-in browser: its session cookie and CSRF token.
pub struct Browser {
    pub port: u16,
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    pub fn sign_in(port: u16, user: &str, password: &str) -> Result<Browser, Reply> {
        Browser::sign_in_with_code(port, user, password, "")
    }

    pub fn sign_in_with_code(
        port: u16,
        user: &str,
        password: &str,
        code: &str,
    ) -> Result<Browser, Reply> {
        Browser::sign_in_from("127.0.0.1", port, user, password, code)
    }

    /// Signs in from another client (`request_from`).
    pub fn sign_in_from(
        source: &str,
        port: u16,
        user: &str,
        password: &str,
        code: &str,
    ) -> Result<Browser, Reply> {
        let page = request_from(source, port, "GET", "/login", &[], "");
        let login = page
            .cookies()
            .into_iter()
            .find(|(k, _)| k == "syndemic_login")
            .unwrap()
            .1;
        let token = hidden(&page.body, "login_token");
        let cookie = format!("syndemic_login={login}");
        let r = request_from(
            source,
            port,
            "POST",
            "/login",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form_encode(&[
                ("login_token", &token),
                ("user_name", user),
                ("password", password),
                ("code", code),
            ]),
        );
        if r.status != 303 {
            return Err(r);
        }
        let session = r
            .cookies()
            .into_iter()
            .find(|(k, v)| k == "syndemic_session" && !v.is_empty())
            .unwrap()
            .1;
        let cookie = format!("syndemic_session={session}");
        let hub = request(port, "GET", "/hub", &[("Cookie", &cookie)], "");
        assert_eq!(hub.status, 200, "{}", hub.body);
        Ok(Browser {
            port,
            csrf: hidden(&hub.body, "csrf"),
            cookie,
        })
    }

    pub fn get(&self, path: &str) -> Reply {
        request(self.port, "GET", path, &[("Cookie", &self.cookie)], "")
    }

    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        all.extend_from_slice(fields);
        request(
            self.port,
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form_encode(&all),
        )
    }
}
