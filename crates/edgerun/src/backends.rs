//! The list of backends this build knows, and the stand-in for one compiled out.

use crate::{
    Availability, Backend, Descriptor, Error, ModelFormat, ModelSource, Options, Prepared, Result,
};

/// The backends of one format in order of preference, and why the first comes first.
pub(crate) struct Preference {
    pub format: ModelFormat,
    pub order: &'static [&'static str],
    pub why: &'static str,
}

/// The one place preference is declared. `first` (and `auto` without a measuring budget)
/// takes the first of these that is available and prepares the model; of candidates whose
/// outputs disagree, the one ranked first here is kept. Variants, and backends not listed,
/// come after these, in the order they were added.
pub(crate) const PREFERENCE: &[Preference] = &[
    Preference {
        format: ModelFormat::Onnx,
        order: &["ort", "tract"],
        why: "ONNX Runtime is the format's reference implementation, and its kernels run ONNX models faster than tract",
    },
    Preference {
        format: ModelFormat::TfLite,
        order: &["litert", "tflite", "tract"],
        why: "LiteRT is the format's current runtime and runs its models faster than older TensorFlow Lite C libraries; the tflite backend stays the one for external delegates",
    },
    Preference {
        format: ModelFormat::Nnef,
        order: &["tract"],
        why: "tract is the backend that reads NNEF",
    },
];

/// Where `label` stands among the backends of `format` (`usize::MAX`: after all of them).
pub(crate) fn rank(format: ModelFormat, label: &str) -> usize {
    preference(format)
        .and_then(|p| p.order.iter().position(|n| *n == label))
        .unwrap_or(usize::MAX)
}

pub(crate) fn preference(format: ModelFormat) -> Option<&'static Preference> {
    PREFERENCE.iter().find(|p| p.format == format)
}

/// Every backend edgerun knows: name, cargo feature, constructor. Its formats and settings
/// come from the backend's descriptor; its rank among the backends of a format from
/// [`PREFERENCE`]. A backend whose cargo feature is off is listed as a stand-in that reports
/// itself unavailable and says which feature to enable.
macro_rules! backends {
    ($( $name:literal, $feature:literal, $ctor:expr; )*) => {
        /// `(name, cargo feature)` of every backend.
        pub const BACKENDS: &[(&str, &str)] = &[$(($name, $feature)),*];

        /// Names of the backends compiled into this build.
        pub(crate) fn compiled_in() -> Vec<&'static str> {
            let mut v = Vec::new();
            $(
                if cfg!(feature = $feature) {
                    v.push($name);
                }
            )*
            v
        }

        /// A new instance of the backend of that name, with default settings.
        pub(crate) fn fresh_backend(name: &str) -> Option<Box<dyn Backend>> {
            compiled_backends().into_iter().find(|b| b.name() == name)
        }

        pub(crate) fn compiled_backends() -> Vec<Box<dyn Backend>> {
            vec![$(
                {
                    #[cfg(feature = $feature)]
                    let b: Box<dyn Backend> = Box::new($ctor);
                    #[cfg(not(feature = $feature))]
                    let b: Box<dyn Backend> = {
                        static DESCRIPTOR: Descriptor = Descriptor {
                            name: $name,
                            formats: &[],
                            settings: &[],
                            library_setting: None,
                            not_automatic: &[],
                        };
                        Box::new(Disabled { descriptor: &DESCRIPTOR, feature: $feature })
                    };
                    b
                },
            )*]
        }
    };
}

backends! {
    "litert", "litert", edgerun_litert::LiteRtBackend::new();
    "ort", "ort", edgerun_ort::OrtBackend::new();
    "tflite", "tflite", edgerun_tflite::TfLiteBackend::new();
    "tract", "tract", edgerun_tract::TractBackend::new();
}

/// Stand-in for a backend that was compiled out.
#[allow(dead_code)]
struct Disabled {
    descriptor: &'static Descriptor,
    feature: &'static str,
}

impl Backend for Disabled {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn availability(&self) -> Availability {
        Availability::Unavailable {
            reason: format!(
                "edgerun was built without the `{}` cargo feature; enable it to use this backend",
                self.feature
            ),
        }
    }

    fn prepare(&self, _: &ModelSource, _: &Options) -> Result<Box<dyn Prepared>> {
        match self.availability() {
            Availability::Unavailable { reason } => Err(Error::BackendUnavailable {
                backend: self.name().into(),
                reason,
            }),
            Availability::Available { .. } => unreachable!("a disabled backend is never available"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_and_the_backends_agree() {
        let built = compiled_backends();
        assert_eq!(built.len(), BACKENDS.len());
        for (b, (name, feature)) in built.iter().zip(BACKENDS) {
            assert_eq!(b.name(), *name, "the backend's own descriptor names it");
            // only a compiled-out stand-in reads no format; it names the feature to enable
            if b.formats().is_empty() {
                assert!(
                    matches!(b.availability(), Availability::Unavailable { reason } if reason.contains(feature)),
                    "a compiled-out {name} names its feature"
                );
            }
        }
        let mut names: Vec<_> = BACKENDS.iter().map(|b| b.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "each backend once: {names:?}");
    }

    #[test]
    fn every_setting_is_taken_and_read_back_as_declared() {
        // samples for the settings without a default; the others take their default
        let samples = [
            ("litert_lib", "/opt/lib/libLiteRt.so"),
            ("ort_lib", "/opt/lib/libonnxruntime.so"),
            ("ort_providers", "XNNPACK:intra_op_num_threads=2,CPU"),
            ("tflite_lib", "/opt/lib/libtensorflowlite_c.so"),
            ("external_delegate_path", "/opt/lib/libarmnnDelegate.so"),
            (
                "external_delegate_options",
                "backends:CpuAcc;number-of-threads:4",
            ),
        ];
        for mut b in compiled_backends() {
            crate::settings::assert_round_trip(b.as_mut(), &samples);
        }
    }

    #[test]
    fn the_preference_table_names_backends_that_read_the_format() {
        let built = compiled_backends();
        for p in PREFERENCE {
            assert!(!p.order.is_empty() && !p.why.is_empty());
            for name in p.order {
                let (_, feature) = BACKENDS.iter().find(|(n, _)| n == name).unwrap();
                let b = built.iter().find(|b| b.name() == *name).unwrap();
                // a compiled-out stand-in reads nothing; tract reads TensorFlow Lite only with
                // its `tract-tflite` feature
                if b.formats().is_empty() || (*name == "tract" && p.format == ModelFormat::TfLite) {
                    continue;
                }
                assert!(
                    b.formats().contains(&p.format),
                    "{name} ({feature}) is ranked for {} but does not read it",
                    p.format
                );
            }
        }
        assert_eq!(rank(ModelFormat::Onnx, "ort"), 0);
        assert_eq!(rank(ModelFormat::TfLite, "tract"), 2);
        assert_eq!(rank(ModelFormat::Onnx, "litert"), usize::MAX);
    }
}
