//! The one reading path of every JSON file format: engine configurations (`nsm-engine/1`),
//! networks (`nsm-net/1`), quantized networks (`nsm-qnet/1`), memory maps (`nsm-memmap/1`) and
//! learning configurations (`nsm-learn/1`).
//!
//! [`read_document`] reads a document in two passes over its text:
//! 1. a structural pass that refuses text that is not JSON, a key given twice in one object (at
//!    any depth, free-form objects such as a network's `training` record included) and a
//!    `schema` tag other than the format's, before any other field is looked at;
//! 2. the typed pass, from the text (not from a parsed value, so that every error keeps its line
//!    and column) and through `serde_path_to_error`, so that every error names its field.
//!
//! Every struct of every format carries `#[serde(deny_unknown_fields)]`. The tagged enums
//! (`accumulator`, `noise`) are read through a plain struct with `try_from`: serde ignores
//! unknown keys beside the tag of an internally tagged unit variant, and an error inside
//! tagged content loses its field path.
//!
//! A refusal is a [`JsonError`], shown as `FILE: field PATH: MESSAGE (line L, column C)`.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_path_to_error::Segment;

/// What a reader expects of a file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// What the files hold, for messages: `"engine configuration"`.
    pub what: &'static str,
    /// The schema tag this build reads.
    pub schema: &'static str,
    /// Whether a file without a `schema` field is refused (otherwise the field takes its
    /// default, which is this tag).
    pub schema_required: bool,
}

/// Why a JSON document was refused: the file, the field, the reason and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The file (or how the text is named: `configs/up5k.json (built in)`).
    pub origin: String,
    /// The field, as `lfsr.width` or `hidden[0].w[3]`; empty for the document as a whole.
    pub path: String,
    /// 1-based line of the error; 0 when the position is unknown.
    pub line: usize,
    /// 1-based column of the error.
    pub column: usize,
    /// The reason, naming the value: `invalid type: string "8", expected u32`.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        if !self.path.is_empty() {
            write!(f, "field {}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if self.line > 0 {
            write!(f, " (line {}, column {})", self.line, self.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for JsonError {}

/// Reads a document of `format` from `text`; `origin` names it in errors.
pub fn read_document<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    format: &Format,
) -> Result<T, JsonError> {
    let refusal = |(path, e)| refusal(origin, format, path, e);
    let mut de = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let checked =
        Document(format).deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
    checked
        .map_err(|e| (field_path(&track.path()), e))
        .and_then(|()| de.end().map_err(|e| (String::new(), e)))
        .map_err(refusal)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (field_path(e.path()), e.into_inner()))
        .map_err(refusal)?;
    de.end().map_err(|e| refusal((String::new(), e)))?;
    Ok(value)
}

/// The field path as the formats' documentation writes it (`hidden[0].w[3]`); a key that
/// could not be read ends it.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            _ => break,
        }
    }
    out
}

fn refusal(origin: &str, format: &Format, mut path: String, inner: serde_json::Error) -> JsonError {
    let (line, column) = (inner.line(), inner.column());
    // serde_json counts the column of a value refused before its first character as 0
    let column = column.max(1);
    let text = inner.to_string();
    let reason = match text.strip_suffix(&format!(" at line {line} column {}", inner.column())) {
        Some(r) if line > 0 => r.to_string(),
        _ => text,
    };
    let message = if inner.is_syntax() || inner.is_eof() {
        // Where the text stops being JSON matters, not the field it stops in.
        path.clear();
        format!("invalid {} JSON: {reason}", format.what)
    } else if path.is_empty() {
        format!("invalid {}: {reason}", format.what)
    } else {
        reason
    };
    JsonError {
        origin: origin.to_string(),
        path,
        line,
        column,
        message,
    }
}

/// A key as JSON writes it, for messages.
fn quoted(key: &str) -> String {
    serde_json::to_string(key).expect("a string always serializes")
}

/// The whole document in the structural pass: an object whose keys are unique and whose
/// `schema` is the format's.
struct Document<'a>(&'a Format);

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object (a {} file)", self.0.what)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        let mut schema = false;
        while let Some(key) = map.next_key_seed(NewKey(&mut seen))? {
            if key == "schema" {
                map.next_value_seed(SchemaTag(self.0))?;
                schema = true;
            } else {
                map.next_value::<Unique>()?;
            }
        }
        if !schema && self.0.schema_required {
            return Err(de::Error::custom(format!(
                "missing field `schema` (this build reads {})",
                quoted(self.0.schema)
            )));
        }
        Ok(())
    }
}

/// The `schema` value: the format's tag, else refused as written (`1 (not a string)`).
struct SchemaTag<'a>(&'a Format);

impl<'de> DeserializeSeed<'de> for SchemaTag<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let found = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) if s == self.0.schema => return Ok(()),
            serde_json::Value::String(s) => quoted(&s),
            other => format!("{other} (not a string)"),
        };
        Err(de::Error::custom(format!(
            "unsupported {} schema {found}, this build reads {}",
            self.0.what,
            quoted(self.0.schema)
        )))
    }
}

/// A key of an object that must not have been seen before in that object.
struct NewKey<'a>(&'a mut HashSet<String>);

impl<'de> DeserializeSeed<'de> for NewKey<'_> {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        let key = String::deserialize(d)?;
        if !self.0.insert(key.clone()) {
            return Err(de::Error::custom(format!(
                "duplicate key {} (a key may appear once per object)",
                quoted(&key)
            )));
        }
        Ok(key)
    }
}

/// Any JSON value in the structural pass: checked for duplicate keys, otherwise skipped.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut seen = HashSet::new();
        while map.next_key_seed(NewKey(&mut seen))?.is_some() {
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
}

#[cfg(test)]
mod tests;
