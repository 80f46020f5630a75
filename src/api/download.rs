//! Answers that are files a person saves: a `Content-Disposition` naming the file in Chinese
//! (RFC 6266 with RFC 8187's `filename*`, plus an ASCII `filename` for old clients), and CSV in
//! the character set the client asks for (see [`crate::io::sheet::Charset`]).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::io::sheet::{self, Charset};

/// RFC 8187 `attr-char`: what may stand unencoded in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="fallback"; filename*=UTF-8''name`: browsers save the file as `name`
/// (Chinese included); a client that knows only `filename` gets `fallback`, or `name` itself
/// when it is plain ASCII.
pub fn attachment(name: &str, fallback: &str) -> HeaderValue {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let ascii = if plain(name) {
        name
    } else if plain(fallback) {
        fallback
    } else {
        "download"
    };
    let value = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, ATTR_CHAR)
    );
    // Only ASCII is left in `value`: quotes and backslashes cannot reach `ascii`.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The character set the request's `Accept-Charset` prefers for CSV.
pub fn csv_charset(headers: &HeaderMap) -> Charset {
    Charset::negotiate(
        headers
            .get(header::ACCEPT_CHARSET)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )
}

/// A file answer: its type, its name (`name` in Chinese, `fallback` in ASCII) and its bytes.
pub fn file(content_type: &str, name: &str, fallback: &str, body: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (header::CONTENT_DISPOSITION, attachment(name, fallback)),
        ],
        body,
    )
        .into_response()
}

/// UTF-8 CSV (as the code writes it, with or without its byte-order mark) answered in the
/// request's character set.
pub fn csv(headers: &HeaderMap, name: &str, fallback: &str, utf8: Vec<u8>) -> Response {
    let charset = csv_charset(headers);
    let text = match utf8.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => rest.to_vec(),
        None => utf8,
    };
    file(
        &format!("text/csv; charset={}", charset.label()),
        name,
        fallback,
        sheet::encode(text, charset),
    )
}

/// An `.xlsx` workbook.
pub fn xlsx(name: &str, fallback: &str, body: Vec<u8>) -> Response {
    file(sheet::XLSX_TYPE, name, fallback, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_go_into_filename_star() {
        let v = attachment("覆盖报告-420106001.xlsx", "coverage.xlsx");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"coverage.xlsx\"; filename*=UTF-8''%E8%A6%86%E7%9B%96%E6%8A%A5%E5%91%8A-420106001.xlsx"
        );
        let v = attachment("网格 名册.csv", "roster.csv");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"roster.csv\"; filename*=UTF-8''%E7%BD%91%E6%A0%BC%20%E5%90%8D%E5%86%8C.csv"
        );
        let v = attachment("a\"b\\c.csv", "x\".csv");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"download\"; filename*=UTF-8''a%22b%5Cc.csv"
        );
        let v = attachment("report.csv", "x.csv");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"report.csv\"; filename*=UTF-8''report.csv"
        );
    }
}
