//! A backend's own options, declared once: each [`Setting`] names its key, the [`Kind`] of
//! value it takes, its default and one sentence of help. From that one table come the API
//! setter ([`configure`]), the CLI's flags, the policy file's keys, and the cache fingerprint
//! ([`fingerprint`]), made from the values a backend holds.

use std::fmt;
use std::path::PathBuf;

use crate::backend::{Backend, Descriptor};
use crate::error::{Error, Result};

/// What a setting's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false` (`1`, `0`); a flag given alone means `true`.
    Bool,
    /// A file.
    Path,
    /// A whole number, at least `min`.
    Count { min: usize },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// Text in the backend's own syntax, shown in help as this (`KEY:VALUE;...`).
    Text(&'static str),
}

/// A setting's value, parsed according to its [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Path(PathBuf),
    Count(usize),
    /// One of a [`Kind::Choice`]'s words.
    Choice(&'static str),
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Path(p) => write!(f, "{}", p.display()),
            Value::Count(n) => write!(f, "{n}"),
            Value::Choice(c) => f.write_str(c),
            Value::Text(t) => f.write_str(t),
        }
    }
}

/// One of a backend's own options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// Name, as a command-line flag without the dashes (`tflite_lib`).
    pub key: &'static str,
    pub kind: Kind,
    /// One sentence for help texts.
    pub help: &'static str,
    /// The default, as text, when there is one.
    pub default: Option<&'static str>,
}

impl Setting {
    /// Does it take `true`/`false` (and stand alone for `true`)?
    pub fn is_bool(&self) -> bool {
        self.kind == Kind::Bool
    }

    /// What the value is, for help texts: `BOOL`, `PATH`, `N`, `WORD` (one of
    /// [`Setting::choices`]), or the syntax.
    pub fn value_name(&self) -> &'static str {
        match self.kind {
            Kind::Bool => "BOOL",
            Kind::Path => "PATH",
            Kind::Count { .. } => "N",
            Kind::Choice(_) => "WORD",
            Kind::Text(syntax) => syntax,
        }
    }

    /// The words a [`Kind::Choice`] setting takes (none for other kinds).
    pub fn choices(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Choice(words) => words,
            _ => &[],
        }
    }

    /// The value `text` stands for.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the setting and what it accepts.
    pub fn parse(&self, text: &str) -> Result<Value> {
        let wrong = |accepts: String| Error::InvalidSetting {
            key: self.key.into(),
            value: text.into(),
            accepts,
        };
        match self.kind {
            Kind::Bool => match text {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(wrong("true or false".into())),
            },
            Kind::Path if text.is_empty() => Err(wrong("a path".into())),
            Kind::Path => Ok(Value::Path(text.into())),
            Kind::Count { min } => match text.parse::<usize>() {
                Ok(n) if n >= min => Ok(Value::Count(n)),
                _ => Err(wrong(format!("a whole number of at least {min}"))),
            },
            Kind::Choice(words) => words
                .iter()
                .find(|w| **w == text)
                .map(|w| Value::Choice(w))
                .ok_or_else(|| wrong(format!("one of {}", words.join(", ")))),
            Kind::Text(_) => Ok(Value::Text(text.into())),
        }
    }
}

/// Set a backend's setting from text: the key is looked up in its descriptor, the text parsed
/// by the setting's kind, and the typed value handed to [`Backend::set`].
///
/// # Errors
/// [`Error::UnknownSetting`] for a key the backend does not declare (naming those it does),
/// [`Error::InvalidSetting`] for a value that does not parse, or the backend's own refusal.
pub fn configure(backend: &mut dyn Backend, key: &str, text: &str) -> Result<()> {
    let descriptor = backend.descriptor();
    let Some(setting) = descriptor.settings.iter().find(|s| s.key == key) else {
        return Err(unknown(descriptor, key));
    };
    let value = setting.parse(text)?;
    backend.set(key, value)
}

/// The error for a key the backend does not declare, naming those it does.
pub fn unknown(descriptor: &Descriptor, key: &str) -> Error {
    let known: Vec<&str> = descriptor.settings.iter().map(|s| s.key).collect();
    Error::UnknownSetting {
        key: key.into(),
        known: if known.is_empty() {
            format!("none (backend {} has no settings)", descriptor.name)
        } else {
            known.join(", ")
        },
    }
}

/// Every setting's current value, in the descriptor's order: what the dispatcher's cache key
/// holds of a backend's configuration (a setting left unset shows as `-`).
pub fn fingerprint(backend: &dyn Backend) -> String {
    backend
        .descriptor()
        .settings
        .iter()
        .map(|s| match backend.get(s.key) {
            Some(v) => format!("{}={v}", s.key),
            None => format!("{}=-", s.key),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks a backend's table against its setter and getter: every setting takes the value its
/// default or a sample stands for, and gives it back. For each backend's tests.
///
/// # Panics
/// When a declared setting is refused by [`Backend::set`] or not returned by [`Backend::get`].
pub fn assert_round_trip(backend: &mut dyn Backend, samples: &[(&str, &str)]) {
    let settings = backend.descriptor().settings;
    for s in settings {
        let text = samples
            .iter()
            .find(|(k, _)| *k == s.key)
            .map(|(_, v)| *v)
            .or(s.default)
            .unwrap_or_else(|| panic!("{}: no default; give a sample", s.key));
        let value = s
            .parse(text)
            .unwrap_or_else(|e| panic!("{}: {text:?} does not parse: {e}", s.key));
        backend
            .set(s.key, value.clone())
            .unwrap_or_else(|e| panic!("{}: refused {value}: {e}", s.key));
        assert_eq!(backend.get(s.key), Some(value), "{} reads back", s.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVEL: Setting = Setting {
        key: "level",
        kind: Kind::Choice(&["low", "high"]),
        help: "",
        default: Some("low"),
    };

    #[test]
    fn values_parse_by_kind_and_mistakes_name_what_is_accepted() {
        let s = |kind| Setting { kind, ..LEVEL };
        assert_eq!(s(Kind::Bool).parse("1").unwrap(), Value::Bool(true));
        assert_eq!(s(Kind::Bool).parse("false").unwrap(), Value::Bool(false));
        assert_eq!(
            s(Kind::Count { min: 1 }).parse("3").unwrap(),
            Value::Count(3)
        );
        assert_eq!(LEVEL.parse("high").unwrap(), Value::Choice("high"));
        for (kind, text, accepts) in [
            (Kind::Bool, "yes", "true or false"),
            (Kind::Count { min: 1 }, "0", "at least 1"),
            (Kind::Count { min: 1 }, "-2", "at least 1"),
            (Kind::Path, "", "a path"),
            (LEVEL.kind, "max", "one of low, high"),
        ] {
            match s(kind).parse(text).unwrap_err() {
                Error::InvalidSetting {
                    key,
                    value,
                    accepts: a,
                } => {
                    assert_eq!((key.as_str(), value.as_str()), ("level", text));
                    assert!(a.contains(accepts), "{a}");
                }
                e => panic!("{e:?}"),
            }
        }
        assert_eq!(LEVEL.value_name(), "WORD");
        assert_eq!(LEVEL.choices(), ["low", "high"]);
        assert!(s(Kind::Bool).is_bool() && !LEVEL.is_bool());
    }
}
