//! Policy files: an integrator's per-model choices, in TOML.
//!
//! ```toml
//! # the first rule whose pattern matches the model's path applies
//! [[rule]]
//! model = "**/face_detection_*.tflite"  # `*` within a path part, `**` across parts, `?` one character
//! backend = "tflite"                    # a backend, a variant's label, "auto" or "first"
//! threads = 2
//! precision = "fp16"                    # exact, or fp16: fp16 twins measured, kept within the guard
//! affinity = "big"                      # big, little, all, or CPUs such as "4-7"
//! fallback = false                      # may another backend take it when this one cannot?
//!
//! [rule.settings]                       # any backend setting, as `edgerun info` lists them
//! external_delegate_path = "/usr/lib/libarmnnDelegate.so"
//! external_delegate_options = "backends:CpuAcc,CpuRef"
//! use_xnnpack = "false"
//! ```
//!
//! A pattern without `/` matches the file name; one with `/` matches the path as given to
//! `load`. A rule with a delegate or settings prepares the model on a fresh instance of its
//! backend with those settings (the runtime's own instance is left as it is).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::backends::fresh_backend;
use crate::{CpuAffinity, Error, Result, Runtime, Selection};

/// One rule of a policy file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Glob over the model's path or file name.
    pub model: String,
    /// A backend, a variant's label, `auto` or `first` (default: the runtime's own selection).
    pub backend: Option<String>,
    pub threads: Option<usize>,
    /// `exact` or `fp16` (default: the runtime's own, [`crate::Runtime::with_precision`]).
    pub precision: Option<String>,
    /// `big`, `little`, `all` or a CPU list.
    pub affinity: Option<String>,
    /// When the pinned backend cannot run the model: choose automatically (true) or fail
    /// with its reason (false, the default: no silent substitution).
    #[serde(default)]
    pub fallback: bool,
    /// Backend settings, key to value: the keys of the backends' descriptors, all of one
    /// backend.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

impl Rule {
    /// The backend settings this rule sets.
    pub fn all_settings(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The affinity this rule asks for.
    ///
    /// # Errors
    /// When it does not parse.
    pub fn cpu_affinity(&self) -> Result<Option<CpuAffinity>> {
        self.affinity
            .as_deref()
            .map(|a| {
                a.parse().map_err(|e| Error::InvalidOption {
                    option: format!("affinity of the policy rule for {:?}", self.model),
                    reason: format!("{e}"),
                })
            })
            .transpose()
    }

    /// Does this rule apply to the model at `path`?
    pub fn matches(&self, path: &Path) -> bool {
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        let pattern = chars(&self.model);
        if self.model.contains('/') {
            glob(&pattern, &chars(&path.to_string_lossy()))
        } else {
            path.file_name()
                .is_some_and(|n| glob(&pattern, &chars(&n.to_string_lossy())))
        }
    }
}

/// An integrator's per-model choices (see the module's documentation for the format).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Where it was read from, for messages.
    #[serde(skip)]
    pub origin: String,
}

impl Policy {
    /// Whether every rule fits the runtime: the backends and variants it names exist, and its
    /// settings belong to one backend of this build.
    pub(crate) fn check(&self, rt: &Runtime) -> Result<()> {
        let labels: Vec<&str> = rt.cands(None).iter().map(|c| c.label).collect();
        for r in &self.rules {
            if let Some(Selection::Named(b)) = r.backend.as_deref().map(Selection::parse) {
                if !labels.contains(&b.as_str()) {
                    return Err(Error::InvalidOption {
                        option: format!("backend of the rule for {:?} in {}", r.model, self.origin),
                        reason: format!(
                            "no backend or variant {b:?}; known: auto, first, {}",
                            labels.join(", ")
                        ),
                    });
                }
            }
            // a rule's settings go to one backend of this build: the one it names, or the
            // one that owns them
            let settings = r.all_settings();
            let bad = |key: &str, reason: String| Error::InvalidOption {
                option: format!(
                    "setting {key:?} of the rule for {:?} in {}",
                    r.model, self.origin
                ),
                reason,
            };
            let mut owner: Option<&'static str> = None;
            if let Some(Selection::Named(b)) = r.backend.as_deref().map(Selection::parse) {
                if !settings.is_empty() && rt.variants.iter().any(|v| v.label == b) {
                    return Err(bad(
                        &settings[0].0,
                        format!("{b} is a variant: settings apply to backends; configure the variant's backend when adding it"),
                    ));
                }
                owner = rt.backends.iter().find(|x| x.name() == b).map(|x| x.name());
            }
            for (key, _) in &settings {
                let Some((by, _)) = rt.settings().into_iter().find(|(_, s)| s.key == key) else {
                    return Err(bad(
                        key,
                        "no backend of this build has such a setting (see `edgerun info`)".into(),
                    ));
                };
                match owner {
                    Some(o) if o != by => {
                        return Err(bad(key, format!("it is a setting of {by}, not of {o}")))
                    }
                    _ => owner = Some(by),
                }
            }
            if let Some(o) = owner.filter(|_| !settings.is_empty()) {
                if fresh_backend(o).is_none() {
                    return Err(bad(
                        &settings[0].0,
                        format!("{o} is not a backend of this build that a rule can configure"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Read a policy file.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the file and what is wrong (unknown keys included).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidOption {
            option: format!("policy file {}", path.display()),
            reason: format!("cannot read it: {e}"),
        })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Parse a policy; `origin` names it in messages.
    ///
    /// # Errors
    /// As [`Policy::from_file`].
    pub fn parse(text: &str, origin: &str) -> Result<Policy> {
        let mut p: Policy = toml::from_str(text).map_err(|e| Error::InvalidOption {
            option: format!("policy file {origin}"),
            reason: e.to_string().replace('\n', " ").trim().to_string(),
        })?;
        p.origin = origin.to_string();
        for r in &p.rules {
            r.cpu_affinity()?;
            if r.threads == Some(0) {
                return Err(Error::InvalidOption {
                    option: format!("threads of the policy rule for {:?}", r.model),
                    reason: "must be 1 or more".into(),
                });
            }
            if let Some(p) = r
                .precision
                .as_deref()
                .filter(|p| crate::Precision::parse(p).is_none())
            {
                return Err(Error::InvalidOption {
                    option: format!("precision of the policy rule for {:?}", r.model),
                    reason: format!("{p:?}: give \"exact\" or \"fp16\""),
                });
            }
        }
        Ok(p)
    }

    /// The first rule that applies to the model at `path`.
    pub fn rule_for(&self, path: &Path) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(path))
    }
}

/// Glob matching: `*` any run of characters but `/`, `**` any run including `/`, `?` one
/// character but `/`; everything else literally.
fn glob(pattern: &[char], text: &[char]) -> bool {
    match pattern {
        [] => text.is_empty(),
        ['*', '*', rest @ ..] => {
            // `**/` also matches no directory at all
            rest.strip_prefix(&['/'])
                .is_some_and(|after| glob(after, text))
                || (0..=text.len()).any(|i| glob(rest, &text[i..]))
        }
        ['*', rest @ ..] => {
            let stop = text.iter().position(|&c| c == '/').unwrap_or(text.len());
            (0..=stop).any(|i| glob(rest, &text[i..]))
        }
        ['?', rest @ ..] => matches!(text, [c, t @ ..] if *c != '/' && glob(rest, t)),
        [p, rest @ ..] => matches!(text, [c, t @ ..] if c == p && glob(rest, t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = |p: &str, t: &str| {
            glob(
                &p.chars().collect::<Vec<_>>(),
                &t.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.tflite", "face.tflite"));
        assert!(!m("*.tflite", "face.onnx"));
        assert!(!m("*.tflite", "a/face.tflite"), "* stays within a part");
        assert!(m("**/*.tflite", "a/b/face.tflite"));
        assert!(m("**/*.tflite", "face.tflite"));
        assert!(m("models/**", "models/a/b.onnx"));
        assert!(m("m?del.onnx", "model.onnx"));
        assert!(!m("m?del.onnx", "m/del.onnx"));
        assert!(m("face_*_v?.tflite", "face_front_v2.tflite"));
        assert!(
            m("caf?.onnx", "café.onnx"),
            "? is one character, not one byte"
        );
        assert!(m("a/**/b.onnx", "a/x/y/b.onnx") && m("a/**/b.onnx", "a/b.onnx"));
    }

    #[test]
    fn parses_rules_and_picks_the_first_that_matches() {
        let p = Policy::parse(
            r#"
            [[rule]]
            model = "face*.tflite"
            backend = "tflite"
            threads = 2
            affinity = "0-1"
            [rule.settings]
            external_delegate_path = "/usr/lib/libarmnnDelegate.so"
            use_xnnpack = "false"

            [[rule]]
            model = "**/*.tflite"
            backend = "auto"
            fallback = true
            "#,
            "test",
        )
        .unwrap();
        let r = p.rule_for(Path::new("/m/face_front.tflite")).unwrap();
        assert_eq!(r.backend.as_deref(), Some("tflite"));
        assert_eq!(
            r.cpu_affinity().unwrap(),
            Some(CpuAffinity::Cpus(vec![0, 1]))
        );
        assert!(!r.fallback);
        let s = r.all_settings();
        assert!(s.contains(&("use_xnnpack".into(), "false".into())));
        assert!(s.contains(&(
            "external_delegate_path".into(),
            "/usr/lib/libarmnnDelegate.so".into()
        )));
        let r = p.rule_for(Path::new("/m/mobilenet.tflite")).unwrap();
        assert_eq!(r.backend.as_deref(), Some("auto"));
        assert!(r.fallback);
        assert!(p.rule_for(Path::new("/m/mobilenet.onnx")).is_none());
    }

    #[test]
    fn mistakes_name_the_file_and_the_problem() {
        let e = Policy::parse("[[rule]]\nmodel = \"*\"\nbackedn = \"x\"\n", "p.toml").unwrap_err();
        assert!(
            e.to_string().contains("p.toml") && e.to_string().contains("backedn"),
            "{e}"
        );
        let e =
            Policy::parse("[[rule]]\nmodel = \"*\"\naffinity = \"huge\"\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("affinity"), "{e}");
        let e = Policy::parse("[[rule]]\nmodel = \"*\"\nthreads = 0\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("threads"), "{e}");
        let e =
            Policy::parse("[[rule]]\nmodel = \"*\"\nprecision = \"fp8\"\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("give \"exact\" or \"fp16\""), "{e}");
        let p = Policy::parse("[[rule]]\nmodel = \"*\"\nprecision = \"fp16\"\n", "p.toml").unwrap();
        assert_eq!(p.rules[0].precision.as_deref(), Some("fp16"));
        let e = Policy::parse("[[rule]]\nbackend = \"x\"\n", "p.toml").unwrap_err();
        assert!(e.to_string().contains("model"), "{e}");
    }
}
