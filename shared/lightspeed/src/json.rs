//! Tolerant decoding of the R-Series JSON quirks (api-notes/LIGHTSPEED.md §2.2, §2.7): every
//! scalar is a string (`"itemID":"20"`, `"archived":"false"`), `""` stands for "none", ids of
//! `0` mean "no reference", and a relation is absent, `""`, an object (one element) or an
//! array (several). These helpers are used with `#[serde(deserialize_with = …)]` on the
//! models; [`decode`] runs them through `serde_path_to_error` so a failure names its JSON
//! path. No IO and no knowledge of particular entities here.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A record that could not be decoded into its model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode Lightspeed {entity} at `{path}`: {message}")]
pub struct DecodeError {
    /// The model being decoded (`Item`, `Sale`, …) or `response` for the envelope.
    pub entity: &'static str,
    /// JSON path of the offending value (`SaleLines.SaleLine[1].unitPrice`), `.` for the root.
    pub path: String,
    pub message: String,
}

/// Decodes a model from a JSON value, naming the JSON path on failure.
pub fn decode<T: DeserializeOwned>(entity: &'static str, value: &Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| DecodeError {
        entity,
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// A scalar as the API may send it.
enum Scalar {
    Text(String),
    Bool(bool),
    Null,
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// Text of a scalar; `None` for null and `""`.
fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Text(t) if t.trim().is_empty() => None,
        Scalar::Text(t) => Some(t.trim().to_owned()),
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::Null => None,
    })
}

/// Any scalar as text (`""` for null).
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Text(t) => t,
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => String::new(),
    })
}

/// `"true"`/`"false"` (also `"1"`/`"0"`, booleans; `""` is false).
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match scalar(d)? {
        Scalar::Bool(b) => Ok(b),
        Scalar::Null => Ok(false),
        Scalar::Text(t) => match t.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            other => Err(de::Error::custom(format!(
                "expected \"true\" or \"false\", got {other:?}"
            ))),
        },
    }
}

fn parse<T: FromStr, E: de::Error>(text: &str, what: &str) -> Result<T, E> {
    text.parse()
        .map_err(|_| E::custom(format!("expected {what}, got {text:?}")))
}

/// A required decimal (`"19.99"`); exact, no floats.
pub(crate) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    match non_empty(d)? {
        Some(t) => parse_decimal(&t),
        None => Err(de::Error::custom("expected a decimal, got an empty value")),
    }
}

fn parse_decimal<E: de::Error>(t: &str) -> Result<Decimal, E> {
    Decimal::from_str_exact(t)
        .or_else(|_| Decimal::from_scientific(t))
        .map_err(|_| E::custom(format!("expected a decimal, got {t:?}")))
}

/// An optional decimal (`""`/absent → `None`).
pub(crate) fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    non_empty(d)?.map(|t| parse_decimal(&t)).transpose()
}

/// A required signed integer (`"-3"`); a decimal with a zero fraction (`"3.0"`) is accepted.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let t = non_empty(d)?
        .ok_or_else(|| de::Error::custom("expected an integer, got an empty value"))?;
    parse_int(&t)
}

fn parse_int<E: de::Error>(t: &str) -> Result<i64, E> {
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    let d: Decimal = parse_decimal(t)?;
    if d.fract().is_zero() {
        i64::try_from(d).map_err(|_| E::custom(format!("integer out of range: {t:?}")))
    } else {
        Err(E::custom(format!("expected an integer, got {t:?}")))
    }
}

/// An optional signed integer (`""`/absent → `None`).
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    non_empty(d)?.map(|t| parse_int(&t)).transpose()
}

/// A required time with an offset (`2016-02-12T06:02:35+00:00`).
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let t =
        non_empty(d)?.ok_or_else(|| de::Error::custom("expected a time, got an empty value"))?;
    parse_time(&t)
}

/// Parses the API's times: RFC 3339 with `Z`, `±HH:MM` or `±HHMM`.
pub(crate) fn parse_time<E: de::Error>(t: &str) -> Result<Timestamp, E> {
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    // The docs also show `-0400` offsets without a colon. (The cut is checked: a value
    // ending in a character of several bytes is no time, and no reason to panic.)
    if let Some(at) = t
        .len()
        .checked_sub(5)
        .filter(|at| *at > 0 && t.is_char_boundary(*at))
    {
        let (head, tail) = t.split_at(at);
        if (tail.starts_with('+') || tail.starts_with('-'))
            && tail[1..].bytes().all(|b| b.is_ascii_digit())
            && let Ok(ts) = format!("{head}{}:{}", &tail[..3], &tail[3..]).parse::<Timestamp>()
        {
            return Ok(ts);
        }
    }
    Err(E::custom(format!(
        "expected a time with an offset, got {t:?}"
    )))
}

/// An optional time (`""`/absent → `None`).
pub(crate) fn opt_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Timestamp>, D::Error> {
    non_empty(d)?.map(|t| parse_time(&t)).transpose()
}

/// An informational time (`createTime`) that must not sink the record: an impossible date
/// reads as `None` (the docs' Category sample has `2021-02-29T19:22:55+00:00`).
pub(crate) fn lenient_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Timestamp>, D::Error> {
    Ok(non_empty(d)?.and_then(|t| parse_time::<D::Error>(&t).ok()))
}

/// A reference id where `"0"`, `""` and absent mean "none" (`categoryID`, `customerID`, …).
pub(crate) fn opt_id<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<u64>,
{
    match non_empty(d)? {
        None => Ok(None),
        Some(t) => {
            let v: u64 = parse(&t, "an id")?;
            Ok((v != 0).then(|| T::from(v)))
        }
    }
}

/// One element or several, as a `Vec`.
struct OneOrMany<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or an array of objects")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                Ok(OneOrMany(out))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let one = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrMany(vec![one]))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.is_empty() {
                    Ok(OneOrMany(Vec::new()))
                } else {
                    Err(E::custom(format!(
                        "expected a relation, got the string {v:?}"
                    )))
                }
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A to-many relation wrapper (`"ItemShops": {"ItemShop": {…} | […]}`, `""` or absent) as a
/// `Vec`. Use with `#[serde(default, deserialize_with = "crate::json::many")]`.
pub(crate) fn many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a relation wrapper object or \"\"")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
            if v.is_empty() {
                Ok(Vec::new())
            } else {
                Err(E::custom(format!(
                    "expected a relation, got the string {v:?}"
                )))
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            // Already-normalized input (a plain array) is accepted too.
            let mut out = Vec::new();
            while let Some(x) = seq.next_element()? {
                out.push(x);
            }
            Ok(out)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(_key) = map.next_key::<String>()? {
                let OneOrMany(items) = map.next_value::<OneOrMany<T>>()?;
                out.extend(items);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// A to-one relation (`"Contact": {…}`; `""`, null or absent → `None`).
pub(crate) fn one<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or \"\"")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
            if v.is_empty() {
                Ok(None)
            } else {
                Err(E::custom(format!(
                    "expected an object, got the string {v:?}"
                )))
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            // A normalized to-one relation may arrive as an array of at most one.
            let first = seq.next_element()?;
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// A string list sent as one string or an array (`attribute1Values`); `""` → empty.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an array of strings")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(if v.is_empty() {
                Vec::new()
            } else {
                vec![v.to_owned()]
            })
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(x) = seq.next_element::<String>()? {
                out.push(x);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Line {
        #[serde(deserialize_with = "decimal")]
        price: Decimal,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        #[serde(deserialize_with = "flag")]
        on: bool,
        #[serde(default, deserialize_with = "opt_id")]
        parent: Option<u64>,
        #[serde(default, rename = "Lines", deserialize_with = "many")]
        lines: Vec<Line>,
        #[serde(default, deserialize_with = "opt_timestamp")]
        at: Option<Timestamp>,
    }

    #[test]
    fn relations_decode_from_object_array_empty_string_and_absence() {
        let one: Probe = decode(
            "Probe",
            &json!({"on":"true","Lines":{"Line":{"price":"1.5"}}}),
        )
        .unwrap();
        assert_eq!(one.lines.len(), 1);
        let two: Probe = decode(
            "Probe",
            &json!({"on":"false","Lines":{"Line":[{"price":"1"},{"price":"2.25"}]}}),
        )
        .unwrap();
        assert_eq!(two.lines[1].price, Decimal::new(225, 2));
        let empty: Probe = decode("Probe", &json!({"on":"0","Lines":""})).unwrap();
        assert!(empty.lines.is_empty());
        let absent: Probe = decode("Probe", &json!({"on":"1"})).unwrap();
        assert!(absent.lines.is_empty() && absent.on);
    }

    #[test]
    fn zero_ids_and_empty_times_are_none() {
        let p: Probe = decode("Probe", &json!({"on":"true","parent":"0","at":""})).unwrap();
        assert_eq!((p.parent, p.at), (None, None));
        let p: Probe = decode(
            "Probe",
            &json!({"on":"true","parent":"7","at":"2016-11-01T00:00:00-0400"}),
        )
        .unwrap();
        assert_eq!(p.parent, Some(7));
        assert_eq!(p.at, Some("2016-11-01T04:00:00Z".parse().unwrap()));
    }

    /// Found by the property tests: a time ending in a character of several bytes is
    /// refused with the path, not a panic.
    #[test]
    fn a_time_ending_in_a_wide_character_is_refused() {
        let err = decode::<Probe>("Probe", &json!({"on":"true","at":"ø:🃔"})).unwrap_err();
        assert_eq!(err.path, "at");
    }

    #[test]
    fn errors_name_the_json_path() {
        let err = decode::<Probe>(
            "Probe",
            &json!({"on":"true","Lines":{"Line":[{"price":"1"},{"price":"abc"}]}}),
        )
        .unwrap_err();
        assert_eq!(err.path, "Lines.Line[1].price");
        assert!(err.message.contains("abc"), "{err}");
    }

    #[test]
    fn integers_accept_whole_decimals_only() {
        #[derive(Deserialize)]
        struct Q {
            #[serde(deserialize_with = "int")]
            q: i64,
        }
        assert_eq!(decode::<Q>("Q", &json!({"q":"-3"})).unwrap().q, -3);
        assert_eq!(decode::<Q>("Q", &json!({"q":"4.000"})).unwrap().q, 4);
        assert!(decode::<Q>("Q", &json!({"q":"4.5"})).is_err());
    }
}
