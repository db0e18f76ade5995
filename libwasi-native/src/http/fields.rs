//! The rules `wasi:http` (0.2 and 0.3) puts on what a guest gives it:
//! field names and values (RFC 9110 section 5), methods, schemes,
//! authorities and paths with query.

/// Fields the host refuses a guest to set (`header-error.forbidden`):
/// they describe the connection, which the host manages (the list
/// wasmtime refuses by default).
pub const FORBIDDEN: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "http2-settings",
];

/// Whether `s` is an RFC 9110 token (a field name, or a method).
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `v` may be a field value: no control characters but tab.
pub fn is_field_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Whether a guest may set or delete field `name`.
pub fn is_forbidden(name: &str) -> bool {
    FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Whether `s` is a URI scheme (RFC 3986: a letter, then letters, digits,
/// `+`, `-` or `.`).
pub fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// Whether `s` may be an authority (RFC 3986 `[userinfo@]host[:port]`,
/// checked by character only).
pub fn is_authority(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@[]%".contains(&b))
}

/// Whether `s` may be a path with query: visible ASCII, no fragment.
pub fn is_path_with_query(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

/// Whether `status` is a status code a response may have (RFC 9110
/// section 15: three digits; 1xx are interim, not final).
pub fn is_final_status(status: u16) -> bool {
    (200..=999).contains(&status)
}
