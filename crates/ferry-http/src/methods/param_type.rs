//! The types of the JSON API's parameters: how each is checked, and the JSON Schema that says
//! so in the OpenAPI document. Both come from here, and the text checks are the Service's own
//! (`ferry_core::text`), so a call the schema describes as valid is never refused as invalid
//! (error 110); schemathesis proves it in CI (`tests/schema_fuzz.rs`).
//!
//! Where a rule cannot be said exactly in JSON Schema, the schema says a little less than the
//! server accepts, never more: names are limited in UTF-8 bytes (255), which a schema cannot
//! count, so it says 63 characters (any 63 characters fit) and the description gives the rule;
//! login names allow any letter, which Python's regular expressions (schemathesis) cannot
//! name, so the pattern says ASCII.

use crate::args::MIN_INTEGER;
use ferry_core::{Error, Result, Timestamp, text};
use serde_json::{Value, json};

/// Characters refused in every text: controls (Unicode `Cc`) and bidirectional controls.
const CONTROLS: &str = r"\x00-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069";
/// Unicode `White_Space` outside the controls: what `trim` removes.
const SPACES: &str = r" \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// The type of a parameter on the wire, with its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Any JSON string (checked where it is used: an SSO ticket is refused with 130).
    String,
    /// Text of at most `max` characters without control characters; `required`: not blank.
    Text {
        /// Whether empty or blank text is refused.
        required: bool,
        /// Most characters.
        max: usize,
    },
    /// A folder or file name (`ferry_core::text::item_name`).
    ItemName,
    /// A name of at most `max` characters, not blank, with nothing that draws nothing
    /// (`ferry_core::text::visible_name`): a group's.
    Name {
        /// Most characters.
        max: usize,
    },
    /// A password presented at sign-in.
    Password,
    /// A password being set (at least 8 characters).
    NewPassword,
    /// An e-mail address; `required`: may not be empty.
    Email {
        /// Whether an empty address is refused.
        required: bool,
    },
    /// `DOMAIN\name`, the name being a login name.
    DomainUsername,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An RFC 3339 date-time.
    DateTime,
    /// A 64-bit integer.
    Integer,
    /// An integer from `min` to `max`.
    Range {
        /// Least value.
        min: i64,
        /// Greatest value.
        max: i64,
    },
    /// One of these integers.
    Choice(&'static [i64]),
    /// A GUID.
    Guid,
    /// true or false.
    Boolean,
    /// An array of `FTHPermissionListItemData` objects.
    PermissionList,
}

/// Text without control characters (any length).
fn no_controls() -> String {
    format!("^[^{CONTROLS}]*$")
}

/// Text with at least one character that is neither a control nor a space.
fn not_blank() -> String {
    format!("^[^{CONTROLS}]*[^{CONTROLS}{SPACES}][^{CONTROLS}]*$")
}

/// Characters that draw nothing, refused in names ([`text::INVISIBLE`]) for a class: those of
/// the Basic Multilingual Plane as `\uXXXX` (ECMAScript's and Python's syntax alike), the
/// others as themselves (neither has one escape for them that the other reads).
fn invisible() -> String {
    let one = |c: char| match u32::from(c) {
        n if n <= 0xFFFF => format!("\\u{n:04X}"),
        _ => c.to_string(),
    };
    text::INVISIBLE
        .iter()
        .map(|&(first, last)| match first == last {
            true => one(first),
            false => format!("{}-{}", one(first), one(last)),
        })
        .collect()
}

/// A name: no controls, `/` or `\`, nothing that draws nothing; not `.` or `..`; no space
/// first or last, no dot last.
fn item_name() -> String {
    let any = format!(r"{CONTROLS}{}/\\", invisible());
    format!(r"^(?:[^{any} .]|[^{any} ][^{any}]*[^{any} .])$")
}

/// A name of a user group: not blank, no controls, nothing that draws nothing.
fn visible_name() -> String {
    let refused = format!("{CONTROLS}{}", invisible());
    format!("^[^{refused}]*[^{refused}{SPACES}][^{refused}]*$")
}

/// An e-mail address: one `@` with text on both sides, no spaces.
fn email() -> String {
    let part = format!("[^{CONTROLS}{SPACES}@]+");
    format!("^{part}@{part}$")
}

impl ParamType {
    /// How the type reads in an error message.
    pub fn described(self) -> &'static str {
        match self {
            ParamType::String
            | ParamType::Text { .. }
            | ParamType::ItemName
            | ParamType::Name { .. }
            | ParamType::Password
            | ParamType::NewPassword
            | ParamType::Email { .. }
            | ParamType::DomainUsername
            | ParamType::IpAddress
            | ParamType::DateTime => "a string",
            ParamType::Integer | ParamType::Range { .. } | ParamType::Choice(_) => "an integer",
            ParamType::Guid => "a GUID",
            ParamType::Boolean => "true or false",
            ParamType::PermissionList => {
                "an array of {Permission, UserID, UserGroupID} objects with integer values"
            }
        }
    }

    /// The JSON Schema of the type. JSON Schema counts characters where Ferry's rule counts
    /// bytes of UTF-8, so a byte-bounded type states a character bound that always fits
    /// (`maxLength`) and the real one in `x-ferry-max-bytes`; `x-ferry-rule` says the rest in
    /// words.
    pub fn schema(self) -> Value {
        match self {
            ParamType::String => json!({"type": "string"}),
            ParamType::Text {
                required: false,
                max,
            } => {
                json!({"type": "string", "maxLength": max, "pattern": no_controls()})
            }
            ParamType::Text {
                required: true,
                max,
            } => {
                json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": not_blank()})
            }
            ParamType::ItemName => json!({
                "type": "string", "minLength": 1, "maxLength": 63, "x-ferry-max-bytes": 255, "pattern": item_name(),
                "x-ferry-rule": "At most 255 bytes of UTF-8 after Unicode NFC normalisation (63 characters always fit); no control or bidirectional characters, none that draws nothing (zero-width space, soft hyphen, filler…), no / or \\; not . or ..; no leading or trailing space, no trailing dot.",
            }),
            ParamType::Name { max } => json!({
                "type": "string", "minLength": 1, "maxLength": max, "pattern": visible_name(),
                "x-ferry-rule": "Not blank; no control or bidirectional characters, none that draws nothing (zero-width space, soft hyphen, filler…).",
            }),
            ParamType::Password => {
                json!({"type": "string", "maxLength": 256, "x-ferry-max-bytes": 1024, "pattern": "^[^\\x00]*$", "x-ferry-rule": "At most 1024 bytes of UTF-8, no NUL."})
            }
            ParamType::NewPassword => {
                json!({"type": "string", "minLength": text::MIN_PASSWORD_CHARS, "maxLength": 256, "x-ferry-max-bytes": 1024, "pattern": no_controls(), "x-ferry-rule": "8 characters or more, at most 1024 bytes of UTF-8, no control characters."})
            }
            ParamType::Email { required } => {
                let pattern = if required {
                    email()
                } else {
                    format!("^$|{}", email())
                };
                json!({"type": "string", "maxLength": text::MAX_EMAIL, "pattern": pattern})
            }
            ParamType::DomainUsername => json!({
                "type": "string", "maxLength": 255,
                "pattern": "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}\\\\[A-Za-z0-9_@+](?:[A-Za-z0-9._@+-]{0,62}[A-Za-z0-9_@+-])?$",
                "x-ferry-rule": "DOMAIN\\name; the name a login name (letters of any script, digits, . - _ @ +, not starting with . or -) that can also name the user's home folder (not ending with a dot).",
            }),
            ParamType::IpAddress => {
                json!({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
            }
            ParamType::DateTime => json!({"type": "string", "format": "date-time"}),
            ParamType::Integer => {
                json!({"type": "integer", "format": "int64", "minimum": MIN_INTEGER, "maximum": i64::MAX})
            }
            ParamType::Range { min, max } => {
                let min = min.max(MIN_INTEGER);
                json!({"type": "integer", "format": "int64", "minimum": min, "maximum": max})
            }
            ParamType::Choice(values) => json!({"type": "integer", "enum": values}),
            ParamType::Guid => json!({"type": "string", "format": "uuid"}),
            ParamType::Boolean => json!({"type": "boolean"}),
            ParamType::PermissionList => {
                json!({"type": "array", "items": {"$ref": "#/components/schemas/FTHPermissionListItemData"}})
            }
        }
    }

    /// Checks `value` (already known to be of the JSON type [`ParamType::described`] names)
    /// against the type's limits, with the Service's own rules and messages.
    pub fn check(self, name: &str, value: &Value) -> Result<()> {
        let s = value.as_str().unwrap_or_default();
        match self {
            ParamType::String
            | ParamType::Integer
            | ParamType::Guid
            | ParamType::Boolean
            | ParamType::PermissionList => Ok(()),
            ParamType::Text {
                required: false,
                max,
            } => text::plain(name, s, max),
            ParamType::Text {
                required: true,
                max,
            } => text::required(name, s, max),
            ParamType::ItemName => text::item_name(name, s).map(drop),
            ParamType::Name { max } => {
                text::required(name, s, max)?;
                text::visible_name(name, s)
            }
            ParamType::Password => text::presented_password(name, s),
            ParamType::NewPassword => text::new_password(name, s),
            ParamType::Email { required } => {
                if required {
                    text::required(name, s, text::MAX_EMAIL)?;
                }
                text::email(name, s.trim())
            }
            ParamType::DomainUsername => {
                text::required(name, s, 255)?;
                match s.split_once('\\') {
                    Some((domain, account))
                        if !domain.trim().is_empty() && !account.contains('\\') =>
                    {
                        text::user_name(name, account.trim())
                    }
                    _ => Err(Error::invalid(format!(
                        "{name} must have the form DOMAIN\\name"
                    ))),
                }
            }
            ParamType::IpAddress => s
                .trim()
                .parse::<std::net::IpAddr>()
                .map(drop)
                .map_err(|_| Error::invalid(format!("{name} is not an IPv4 or IPv6 address"))),
            ParamType::DateTime => Timestamp::parse_rfc3339(s)
                .map(drop)
                .ok_or_else(|| Error::invalid(format!("{name} must be an RFC 3339 date-time"))),
            ParamType::Range { min, max } => match value.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(Error::invalid(format!(
                    "{name} must be between {min} and {max}"
                ))),
            },
            ParamType::Choice(values) => match value.as_i64() {
                Some(n) if values.contains(&n) => Ok(()),
                _ => Err(Error::invalid(format!("{name} must be one of {values:?}"))),
            },
        }
    }

    /// Whether a value of this type is a JSON integer.
    pub(crate) fn is_integer(self) -> bool {
        matches!(
            self,
            ParamType::Integer | ParamType::Range { .. } | ParamType::Choice(_)
        )
    }
}
