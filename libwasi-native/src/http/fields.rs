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

/// Why a change to a [`Fields`] is refused (`header-error` of both WASI
/// versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsError {
    /// A name that is not a token, or a value with control characters.
    InvalidSyntax,
    /// A field the guest may not set ([`FORBIDDEN`]).
    Forbidden,
    /// The fields belong to a message and may not change.
    Immutable,
}

/// A `fields` resource of either WASI version: HTTP headers or trailers.
/// Names compare case-insensitively and keep the spelling they were given.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// Name and value of each field, in order; a name may repeat.
    pub entries: Vec<(String, Vec<u8>)>,
    /// Whether changes fail with [`FieldsError::Immutable`] (the fields of
    /// a request or a response, or a copy of them).
    pub immutable: bool,
}

/// Checks that `name` may be set or deleted by a guest.
fn check_name(name: &str) -> Result<(), FieldsError> {
    if !is_token(name) {
        return Err(FieldsError::InvalidSyntax);
    }
    if is_forbidden(name) {
        return Err(FieldsError::Forbidden);
    }
    Ok(())
}

/// Checks that `name: value` may be added by a guest.
fn check_field(name: &str, value: &[u8]) -> Result<(), FieldsError> {
    check_name(name)?;
    if !is_field_value(value) {
        return Err(FieldsError::InvalidSyntax);
    }
    Ok(())
}

impl Fields {
    /// Fields made by a guest from a list (`fields.from-list`).
    ///
    /// # Errors
    ///
    /// An entry a guest may not set.
    pub fn from_list(entries: Vec<(String, Vec<u8>)>) -> Result<Fields, FieldsError> {
        for (name, value) in &entries {
            check_field(name, value)?;
        }
        Ok(Fields {
            entries,
            immutable: false,
        })
    }

    /// Immutable fields the host received (a request's headers).
    pub fn received(entries: Vec<(String, Vec<u8>)>) -> Fields {
        Fields {
            entries,
            immutable: true,
        }
    }

    /// A mutable copy.
    pub fn copy(&self) -> Fields {
        Fields {
            entries: self.entries.clone(),
            immutable: false,
        }
    }

    /// The values of `name`, in order.
    pub fn get(&self, name: &str) -> Vec<Vec<u8>> {
        self.entries
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn mutable(&mut self) -> Result<&mut Self, FieldsError> {
        if self.immutable {
            Err(FieldsError::Immutable)
        } else {
            Ok(self)
        }
    }

    /// Replaces the values of `name` with `values`.
    ///
    /// # Errors
    ///
    /// Immutable fields, or a field a guest may not set.
    pub fn set(&mut self, name: &str, values: Vec<Vec<u8>>) -> Result<(), FieldsError> {
        let this = self.mutable()?;
        check_name(name)?;
        if !values.iter().all(|v| is_field_value(v)) {
            return Err(FieldsError::InvalidSyntax);
        }
        this.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        this.entries
            .extend(values.into_iter().map(|v| (name.to_string(), v)));
        Ok(())
    }

    /// Removes every value of `name`; returns them.
    ///
    /// # Errors
    ///
    /// Immutable fields, or a field a guest may not change.
    pub fn delete(&mut self, name: &str) -> Result<Vec<Vec<u8>>, FieldsError> {
        let this = self.mutable()?;
        check_name(name)?;
        let values = this.get(name);
        this.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        Ok(values)
    }

    /// Adds `name: value` after the others.
    ///
    /// # Errors
    ///
    /// Immutable fields, or a field a guest may not set.
    pub fn append(&mut self, name: String, value: Vec<u8>) -> Result<(), FieldsError> {
        let this = self.mutable()?;
        check_field(&name, &value)?;
        this.entries.push((name, value));
        Ok(())
    }
}
