//! JSON read as serde_json reads it, except that an object with the same key twice is an
//! error at any depth (serde_json keeps the last, silently). Two readers of one body must not
//! disagree about what it says: a proxy or firewall that checks the first `userName` while
//! Ferry acts on the second is the classic smuggling gap. For the same reason the key
//! serde_json reserves for its raw values is refused: where that feature is built in,
//! serde_json reads `{"$serde_json::private::RawValue": "[1]"}` as the array `[1]`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// serde_json's own key for a raw value (its `raw_value` feature), never a client's.
const SERDE_RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// Parses `body`, refusing repeated keys; the error text names the repeated key.
pub fn parse(body: &[u8]) -> Result<Value, serde_json::Error> {
    Ok(serde_json::from_slice::<Strict>(body)?.0)
}

/// A JSON value without repeated keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if key == SERDE_RAW_VALUE_KEY {
                return Err(de::Error::custom(format!("the key {key:?} is reserved")));
            }
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key {key:?} is given more than once"
                )));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        assert!(parse(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse(br#"{"list":[{"Permission":1,"Permission":255}]}"#).is_err());
        let e = parse(br#"{"x":{"y":1,"y":1}}"#).unwrap_err().to_string();
        assert!(e.contains("\"y\" is given more than once"), "{e}");
    }

    #[test]
    fn serde_jsons_raw_value_key_is_refused() {
        // Found by the json_body fuzz target (fuzz/regressions/json_body).
        for body in [
            r#"{"$serde_json::private::RawValue":2}"#,
            r#"{"$serde_json::private::RawValue":"[1]"}"#,
            r#"{"a":{"$serde_json::private::RawValue":"{}"}}"#,
        ] {
            let e = parse(body.as_bytes()).unwrap_err().to_string();
            assert!(e.contains("is reserved"), "{body}: {e}");
        }
    }

    #[test]
    fn everything_else_reads_as_serde_json_reads_it() {
        for body in [
            r#"{"a":1,"b":[true,null,"s",-5,1.5,18446744073709551615],"c":{"d":{}}}"#,
            "[]",
            "\"text\"",
            "  {\"A\":1, \"a\":2}  ",
        ] {
            assert_eq!(
                parse(body.as_bytes()).unwrap(),
                serde_json::from_str::<Value>(body).unwrap(),
                "{body}"
            );
        }
        assert!(parse(b"{").is_err());
        assert!(parse(b"{} x").is_err());
    }
}
