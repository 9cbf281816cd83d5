//! The list of backends this build knows, and the stand-in for one compiled out.

use crate::{Availability, Backend, Descriptor, Error, ModelSource, Options, Prepared, Result};

/// Every backend edgerun knows, in order of preference: name, cargo feature, constructor.
/// This list is the one place a backend is named; its formats come from the backend itself.
/// A backend whose cargo feature is off is listed as a stand-in that reports itself
/// unavailable and says which feature to enable.
macro_rules! backends {
    ($( $name:literal, $feature:literal, $ctor:expr; )*) => {
        /// `(name, cargo feature)` of every backend, in order of preference.
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
                        static DESCRIPTOR: Descriptor = Descriptor { name: $name, formats: &[] };
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
}
