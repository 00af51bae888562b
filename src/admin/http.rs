//! Minimal blocking HTTP/1.1 for the admin listener: one request per connection (`Connection:
//! close`), a bounded head and body, query strings decoded.

use std::io::{Read, Write};
use std::net::TcpStream;

/// Admin requests are small; a head larger than this is refused.
pub const MAX_ADMIN_HEAD_BYTES: usize = 16 * 1024;
/// Admin request bodies (a login form, a log filter) are tiny; larger ones are refused.
pub const MAX_ADMIN_BODY_BYTES: usize = 4 * 1024;
/// Headers looked at per request; browsers send ~20.
const MAX_ADMIN_HEADERS: usize = 64;

/// One parsed admin request.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded (`+` as space).
    pub fn param(&self, name: &str) -> Option<String> {
        form_value(&self.query, name)
    }
}

/// A value of an `application/x-www-form-urlencoded` string (query or form body).
pub fn form_value(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed before sending a request.
    Closed,
    Bad(&'static str),
    TooLarge,
    Io(std::io::Error),
}

/// Reads one request (head and `Content-Length` body).
pub fn read_request(stream: &mut TcpStream) -> Result<Request, ReadError> {
    let mut buf = vec![0u8; MAX_ADMIN_HEAD_BYTES];
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).map_err(ReadError::Io)?;
        if n == 0 {
            return Err(if filled == 0 {
                ReadError::Closed
            } else {
                ReadError::Bad("truncated request")
            });
        }
        filled += n;
        let mut headers = [httparse::EMPTY_HEADER; MAX_ADMIN_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..filled]) {
            Ok(httparse::Status::Complete(head_len)) => {
                let target = req.path.unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let mut out = Request {
                    method: req.method.unwrap_or("GET").to_owned(),
                    path: path.to_owned(),
                    query: query.to_owned(),
                    headers: req
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).trim().to_owned(),
                            )
                        })
                        .collect(),
                    body: Vec::new(),
                };
                if out.header("transfer-encoding").is_some() {
                    return Err(ReadError::Bad("chunked bodies are not accepted here"));
                }
                let len = match out.header("content-length") {
                    None => 0,
                    Some(v) => v
                        .parse::<usize>()
                        .map_err(|_| ReadError::Bad("bad Content-Length"))?,
                };
                if len > MAX_ADMIN_BODY_BYTES {
                    return Err(ReadError::TooLarge);
                }
                let mut body = buf[head_len..filled].to_vec();
                body.truncate(len);
                while body.len() < len {
                    let mut chunk = [0u8; 1024];
                    let n = stream.read(&mut chunk).map_err(ReadError::Io)?;
                    if n == 0 {
                        return Err(ReadError::Bad("truncated body"));
                    }
                    let take = n.min(len - body.len());
                    body.extend_from_slice(&chunk[..take]);
                }
                out.body = body;
                return Ok(out);
            }
            Ok(httparse::Status::Partial) if filled < buf.len() => continue,
            Ok(httparse::Status::Partial) => return Err(ReadError::TooLarge),
            Err(_) => return Err(ReadError::Bad("malformed request head")),
        }
    }
}

/// An answer to write.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Response {
        let mut b: String = body.into();
        if !b.ends_with('\n') {
            b.push('\n');
        }
        Response::new(status, "text/plain; charset=utf-8", b)
    }

    pub fn json(status: u16, value: &impl serde::Serialize) -> Response {
        match serde_json::to_vec_pretty(value) {
            Ok(mut b) => {
                b.push(b'\n');
                Response::new(status, "application/json", b)
            }
            Err(e) => Response::text(500, format!("cannot render JSON: {e}")),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes `resp` (the body omitted for HEAD) and closes the exchange.
pub fn write_response(
    stream: &mut TcpStream,
    resp: &Response,
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    );
    for (n, v) in &resp.headers {
        // Our own values; a stray newline would split the head, so drop such a header.
        if !v.contains(['\r', '\n']) {
            head.push_str(n);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(&resp.body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        let q = "bucket=my+bucket&key=a%2Fb%20c.txt&empty=&flag";
        assert_eq!(form_value(q, "bucket").as_deref(), Some("my bucket"));
        assert_eq!(form_value(q, "key").as_deref(), Some("a/b c.txt"));
        assert_eq!(form_value(q, "empty").as_deref(), Some(""));
        assert_eq!(form_value(q, "flag").as_deref(), Some(""));
        assert_eq!(form_value(q, "missing"), None);
    }
}
