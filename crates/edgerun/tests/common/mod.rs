//! Helpers shared by the integration tests: where the models are, and the reference cases.
#![allow(dead_code)]

use std::path::PathBuf;

use edgerun::{npy, Tensor};

pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// A model path that must exist; a fetched model that is missing fails with what to run.
pub fn model(rel: &str) -> PathBuf {
    let p = models_dir().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run models/fetch (fetched models) or models/make_models.py (bundled ones)",
        p.display()
    );
    p
}

/// One row of models/reference/cases.tsv.
pub struct Case {
    pub name: String,
    pub model: PathBuf,
    pub shapes: Vec<(String, Vec<usize>)>,
    pub inputs: Vec<Tensor>,
    pub outputs: Vec<Tensor>,
}

fn numbered(dir: &std::path::Path, prefix: &str) -> Vec<Tensor> {
    (0..)
        .map(|k| dir.join(format!("{prefix}.{k}.npy")))
        .take_while(|p| p.exists())
        .map(|p| npy::read(&p).unwrap())
        .collect()
}

pub fn cases() -> Vec<Case> {
    let table = std::fs::read_to_string(models_dir().join("reference/cases.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let shapes = cols[2]
                .split(';')
                .map(|spec| {
                    let (name, dims) = spec.split_once('=').unwrap();
                    (
                        name.to_string(),
                        dims.split(',').map(|d| d.parse().unwrap()).collect(),
                    )
                })
                .collect();
            let dir = models_dir().join("reference").join(cols[0]);
            Case {
                name: cols[0].to_string(),
                model: model(cols[1]),
                shapes,
                inputs: numbered(&dir, "input"),
                outputs: numbered(&dir, "output"),
            }
        })
        .collect()
}

pub fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name} in cases.tsv"))
}
