//! Turning a JSON request body into the typed arguments of one method: names matched
//! case-insensitively against the method's declared parameters, unknown or duplicate names
//! refused, each value checked against its declared type. Messages name the parameter and the
//! expected type, never the value sent.

use std::collections::HashMap;

use ferry_core::domain::SessionId;
use ferry_core::service::GrantRequest;
use ferry_core::{Error, Result};
use serde_json::Value;

use crate::methods::{Param, ParamType};

/// The checked arguments of one call, by declared parameter name.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<&'static str, Value>,
}

impl Args {
    /// Parses `body` for a method with parameters `params`.
    pub fn parse(body: &[u8], params: &'static [Param]) -> Result<Args> {
        let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            crate::strict_json::parse(body)
                .map_err(|e| Error::invalid(format!("the body is not valid JSON ({e})")))?
        };
        let Value::Object(object) = value else {
            return Err(Error::invalid("the body must be a JSON object"));
        };
        Args::from_pairs(object, params)
    }

    /// The arguments named in `pairs` (from a JSON object, or a SOAP operation's elements)
    /// for a method with parameters `params`: names matched case-insensitively, each given
    /// once; a null counts as absent; every required one present; each checked by its type.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, Value)>,
        params: &'static [Param],
    ) -> Result<Args> {
        let mut values = HashMap::new();
        for (name, value) in pairs {
            let param = params
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| Error::invalid(format!("unknown parameter {name:?}")))?;
            if values.contains_key(param.name) {
                return Err(Error::invalid(format!(
                    "parameter {} is given more than once",
                    param.name
                )));
            }
            if value.is_null() {
                continue;
            }
            let value = integral(param, value);
            check_type(param, &value)?;
            param.ty.check(param.name, &value)?;
            values.insert(param.name, value);
        }
        for p in params.iter().filter(|p| p.required) {
            if !values.contains_key(p.name) {
                return Err(Error::invalid(format!("missing parameter {}", p.name)));
            }
        }
        Ok(Args { values })
    }

    /// A string parameter; `""` if absent.
    pub fn string(&self, name: &str) -> String {
        self.opt_string(name).unwrap_or_default()
    }

    /// A string parameter, if given.
    pub fn opt_string(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// An integer parameter (declared required, so present after [`Args::parse`]).
    pub fn int(&self, name: &str) -> Result<i64> {
        self.values
            .get(name)
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::invalid(format!("missing parameter {name}")))
    }

    /// An integer parameter, if given.
    pub fn opt_int(&self, name: &str) -> Option<i64> {
        self.values.get(name).and_then(Value::as_i64)
    }

    /// A boolean parameter, if given.
    pub fn opt_bool(&self, name: &str) -> Option<bool> {
        self.values.get(name).and_then(Value::as_bool)
    }

    /// A permission list parameter (declared required; shape checked by [`Args::parse`]).
    pub fn permission_list(&self, name: &str) -> Result<Vec<GrantRequest>> {
        let items = self
            .values
            .get(name)
            .and_then(Value::as_array)
            .ok_or_else(|| Error::invalid(format!("missing parameter {name}")))?;
        items.iter().map(grant_request).collect()
    }

    /// A GUID parameter (declared required).
    pub fn guid(&self, name: &str) -> Result<SessionId> {
        self.values
            .get(name)
            .and_then(Value::as_str)
            .and_then(SessionId::parse)
            .ok_or_else(|| Error::invalid(format!("{name} is not a GUID")))
    }
}

/// One `FTHPermissionListItemData` object: `Permission` required, `UserID` and `UserGroupID`
/// default to -1; other keys (such as `FolderPermissionID`, `FolderID` from a previous Get) are
/// ignored; names matched case-insensitively.
fn grant_request(item: &Value) -> Result<GrantRequest> {
    let object = item
        .as_object()
        .ok_or_else(|| Error::invalid("each permission item must be an object"))?;
    let field = |name: &str| -> Result<Option<i64>> {
        match object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            None => Ok(None),
            Some((_, v)) if v.is_null() => Ok(None),
            Some((_, v)) => integral_number(v).map(Some).ok_or_else(|| {
                Error::invalid(format!("{name} in a permission item must be an integer"))
            }),
        }
    };
    Ok(GrantRequest {
        permission: field("Permission")?
            .ok_or_else(|| Error::invalid("a permission item has no Permission"))?,
        user_id: field("UserID")?.unwrap_or(-1),
        group_id: field("UserGroupID")?.unwrap_or(-1),
    })
}

/// An integer sent as a number with a zero fraction (`2746.0`, `1e3`) as the integer it is:
/// JSON Schema calls it an integer, and so does the API.
fn integral(param: &Param, value: Value) -> Value {
    match integral_number(&value) {
        Some(n) if param.ty.is_integer() => Value::from(n),
        _ => value,
    }
}

/// The smallest integer the JSON API takes: -(2^63 - 1), not i64's -2^63. A JSON integer just
/// below -2^63 reaches the server as the float -2^63 (serde_json has no wider integer), which
/// cannot be told from -2^63 itself; leaving -2^63 out of the range (and out of the published
/// schema) refuses both, so every number the schema refuses is refused.
pub(crate) const MIN_INTEGER: i64 = -i64::MAX;

/// The integer a JSON number stands for: an integer in [`MIN_INTEGER`, i64::MAX], or a float
/// with a zero fraction inside that range. Floats are parsed correctly rounded (serde_json's
/// `float_roundtrip`), so `2038839988843939.0` is exact. From 2^53 on a float cannot tell
/// neighbouring integers apart (`9007199254740993.0` arrives as 2^53), and the schema's
/// validators see the same float: refusing it would refuse a call the published schema calls
/// valid. Taking the float's value is harmless because every integer the API takes is an ID or
/// a count, and nothing Ferry holds comes near 2^53: two such neighbours both name nothing, or
/// both skip everything.
fn integral_number(value: &Value) -> Option<i64> {
    // 2^63, exactly representable. Every float strictly between -2^63 and 2^63 is an integer
    // in [MIN_INTEGER, i64::MAX] once its fraction is zero (the nearest ones are 2^63 - 1024).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if let Some(n) = value.as_i64() {
        return (n >= MIN_INTEGER).then_some(n);
    }
    match value.as_f64() {
        Some(f) if !value.is_u64() && f.fract() == 0.0 && f > -LIMIT && f < LIMIT => Some(f as i64),
        _ => None,
    }
}

fn check_type(param: &Param, value: &Value) -> Result<()> {
    let ok = match param.ty {
        ty if ty.is_integer() => integral_number(value).is_some(),
        ParamType::Guid => value.as_str().and_then(SessionId::parse).is_some(),
        ParamType::Boolean => value.is_boolean(),
        ParamType::PermissionList => value
            .as_array()
            .is_some_and(|items| items.iter().all(|i| grant_request(i).is_ok())),
        // The rest are strings of one kind or another.
        _ => value.is_string(),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{} must be {}",
            param.name,
            param.ty.described()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[Param] = &[
        Param::required("userName", ParamType::String, ""),
        Param::required("applicationID", ParamType::Integer, ""),
        Param::optional("clientVersion", ParamType::String, ""),
        Param::optional("sessionID", ParamType::Guid, ""),
    ];

    fn parse(body: &str) -> Result<Args> {
        Args::parse(body.as_bytes(), PARAMS)
    }

    #[test]
    fn names_match_case_insensitively() {
        let a = parse(r#"{"USERNAME": "bob", "applicationid": 1000}"#).unwrap();
        assert_eq!(a.string("userName"), "bob");
        assert_eq!(a.int("applicationID").unwrap(), 1000);
        assert_eq!(a.opt_string("clientVersion"), None);
    }

    #[test]
    fn refusals() {
        for (body, needle) in [
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            (r#"{"userName": "b"}"#, "missing parameter applicationID"),
            (
                r#"{"userName": 5, "applicationID": 1}"#,
                "userName must be a string",
            ),
            (
                r#"{"userName": "b", "applicationID": "1000"}"#,
                "applicationID must be an integer",
            ),
            (
                r#"{"userName": "b", "applicationID": 1.5}"#,
                "applicationID must be an integer",
            ),
            (
                r#"{"userName": "b", "applicationID": 1, "extra": 1}"#,
                "unknown parameter",
            ),
            (
                r#"{"userName": "b", "username": "c", "applicationID": 1}"#,
                "more than once",
            ),
            (
                r#"{"userName": "b", "userName": "c", "applicationID": 1}"#,
                "more than once",
            ),
            (
                r#"{"userName": "b", "applicationID": 1, "sessionID": "x"}"#,
                "sessionID must be a GUID",
            ),
        ] {
            let e = parse(body).unwrap_err().to_string();
            assert!(e.contains(needle), "{body}: {e}");
        }
    }

    #[test]
    fn integers_may_be_written_as_whole_floats() {
        let a = parse(r#"{"userName": "b", "applicationID": 2746.0}"#).unwrap();
        assert_eq!(a.int("applicationID").unwrap(), 2746);
        let a = parse(r#"{"userName": "b", "applicationID": -1e3}"#).unwrap();
        assert_eq!(a.int("applicationID").unwrap(), -1000);
        let a = parse(r#"{"userName": "b", "applicationID": -2038839988843939.0}"#).unwrap();
        assert_eq!(a.int("applicationID").unwrap(), -2_038_839_988_843_939);
        // Beyond 2^53 the float's own value: what the schema's validators see too.
        for (whole, n) in [
            ("9007199254740992.0", 1_i64 << 53),
            ("9007199254740993.0", 1 << 53),
            ("-9223372036854774784.0", -9_223_372_036_854_774_784),
            ("-9223372036854775807", MIN_INTEGER),
            ("1e18", 1_000_000_000_000_000_000),
        ] {
            let a = parse(&format!(r#"{{"userName": "b", "applicationID": {whole}}}"#)).unwrap();
            assert_eq!(a.int("applicationID").unwrap(), n, "{whole}");
        }
        for not_an_i64 in [
            "1.5",
            "1e300",
            "-1e300",
            "9223372036854775808.0",
            "9223372036854775808",
            "-9223372036854777856.0",
            // -2^63 and what is sent as it: out of the API's range.
            "-9223372036854775808",
            "-9223372036854775808.0",
            "-9223372036854775809",
        ] {
            let body = format!(r#"{{"userName": "b", "applicationID": {not_an_i64}}}"#);
            assert!(parse(&body).is_err(), "{not_an_i64}");
        }
    }

    #[test]
    fn permission_items_take_whole_floats_and_ignore_what_they_do_not_use() {
        const LIST: &[Param] = &[Param::required(
            "permissionList",
            ParamType::PermissionList,
            "",
        )];
        // The call schemathesis found refused: a whole float of 2^53, a null UserID, an
        // integer beyond u64 in a key that is ignored.
        let body = r#"{"permissionList": [
            {"Permission": 217.0, "UserID": -1, "UserGroupID": 9007199254740992.0},
            {"Permission": 3, "UserID": null, "FolderID": 29631979513562776836505600}]}"#;
        let grants = Args::parse(body.as_bytes(), LIST)
            .unwrap()
            .permission_list("permissionList")
            .unwrap();
        assert_eq!(
            (grants[0].permission, grants[0].user_id, grants[0].group_id),
            (217, -1, 1 << 53)
        );
        assert_eq!((grants[1].user_id, grants[1].group_id), (-1, -1));
        for bad in [
            r#"{"Permission": 1.5}"#,
            r#"{"Permission": 1, "UserID": 1e300}"#,
        ] {
            let body = format!(r#"{{"permissionList": [{bad}]}}"#);
            assert!(Args::parse(body.as_bytes(), LIST).is_err(), "{bad}");
        }
    }

    #[test]
    fn null_means_absent() {
        let e = parse(r#"{"userName": null, "applicationID": 1}"#).unwrap_err();
        assert!(e.to_string().contains("missing parameter userName"));
        let a = parse(r#"{"userName": "b", "applicationID": 1, "clientVersion": null}"#).unwrap();
        assert_eq!(a.opt_string("clientVersion"), None);
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        let e = parse("  ").unwrap_err().to_string();
        assert!(e.contains("missing parameter"));
    }
}
