//! The sessions of the wide-area tests: their configuration files (the bundled hospital files, every config
//! rewired to listen and be reached where a test says), their models, and how close two models are.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{append, data, files_under, spawn, wait_all, Ended};

/// The bundled hospital files, party 0's first.
pub const HOSPITALS: [&str; 3] = ["hospital_a.csv", "hospital_b.csv", "hospital_c.csv"];

/// One session's configuration: hospitals, dealer or `ot`, the `[network]` table and extra `[train]` lines.
pub struct Session {
    /// Hospitals (computing parties), the first of [`HOSPITALS`].
    pub hospitals: usize,
    /// A dealer (the last endpoint) and `dealer` preprocessing; without, `ot`.
    pub dealer: bool,
    /// Appended to every config: the `[network]` table.
    pub network: String,
    /// Appended to every hospital's `[train]` table.
    pub train: String,
}

impl Session {
    /// Computing parties plus the dealer, if any.
    pub fn endpoints(&self) -> usize {
        self.hospitals + usize::from(self.dealer)
    }

    /// Writes keys and configs into `dir` (outputs in `dir/out-<i>`), for 127.0.0.1 as generated.
    pub fn write(&self, dir: &Path) -> Vec<PathBuf> {
        std::fs::create_dir_all(dir).unwrap();
        let cfg =
            mpc_net::local::write_local_configs(dir, self.hospitals, self.dealer, &self.network)
                .unwrap();
        let prep = if self.dealer { "dealer" } else { "ot" };
        for (i, file) in HOSPITALS.iter().take(self.hospitals).enumerate() {
            append(
                &cfg[i],
                &format!(
                    "\n[train]\ndata = {:?}\nlabel = \"malignant\"\nid_column = \"patient_id\"\n\
                     solver = \"gradient_descent\"\npreprocessing = \"{prep}\"\nout = \"out-{i}\"\n{}",
                    data(file).to_str().unwrap(),
                    self.train
                ),
            );
        }
        cfg
    }
}

/// The port each config listens on, as `write_local_configs` wrote it.
pub fn listen_ports(configs: &[PathBuf]) -> Vec<u16> {
    configs
        .iter()
        .map(|c| {
            let text = std::fs::read_to_string(c).unwrap();
            let line = text.lines().find(|l| l.starts_with("listen = ")).unwrap();
            line.trim_end_matches('"')
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// Rewrites every config: endpoint `i` listens on `listen[i]` and is reached at `roster[i]`.
pub fn rewire(configs: &[PathBuf], listen: &[SocketAddr], roster: &[SocketAddr]) {
    let ports = listen_ports(configs);
    for (i, c) in configs.iter().enumerate() {
        let mut text = std::fs::read_to_string(c).unwrap();
        text = text.replace(
            &format!("listen = \"127.0.0.1:{}\"", ports[i]),
            &format!("listen = \"{}\"", listen[i]),
        );
        for (j, port) in ports.iter().enumerate() {
            text = text.replace(
                &format!("address = \"127.0.0.1:{port}\""),
                &format!("address = \"{}\"", roster[j]),
            );
        }
        std::fs::write(c, text).unwrap();
    }
}

/// The weights and intercept of the model in `dir`.
pub fn model(dir: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join("model.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut w: Vec<f64> = v["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    w.push(v["intercept"].as_f64().unwrap());
    w
}

/// Every row of the three hospital files (feature columns only, in file order).
pub fn rows() -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for f in HOSPITALS {
        let text = std::fs::read_to_string(data(f)).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        for line in lines {
            out.push(
                line.split(',')
                    .zip(&header)
                    .filter(|(_, h)| **h != "patient_id" && **h != "malignant")
                    .map(|(v, _)| v.parse().unwrap())
                    .collect(),
            );
        }
    }
    out
}

/// The largest difference of two models' logits (`w . x + b`) over every row of the hospital files.
pub fn logit_gap(a: &[f64], b: &[f64]) -> f64 {
    let logit = |m: &[f64], x: &[f64]| {
        m[..m.len() - 1]
            .iter()
            .zip(x)
            .map(|(w, v)| w * v)
            .sum::<f64>()
            + m[m.len() - 1]
    };
    rows()
        .iter()
        .map(|x| (logit(a, x) - logit(b, x)).abs())
        .fold(0.0, f64::max)
}

/// Every run draws its masks and its truncations' randomness afresh, so two runs of the same session on
/// loopback differ in the last bits of the fixed-point values (20 fractional bits): measured, at most 6e-5
/// in the logit of any row after 2 epochs (about 60 units of 2^-20, summed over 30 features). A model that
/// crossed a lossy, delayed network must be as close to the loopback model as that: within this bound, 16
/// times the measured spread; a lost or repeated message would move the logits by far more.
pub const LOGIT_TOLERANCE: f64 = 1e-3;

pub fn assert_same_model(over_wan: &[f64], reference: &[f64], what: &str) {
    assert_eq!(over_wan.len(), reference.len(), "{what}");
    let gap = logit_gap(over_wan, reference);
    assert!(
        gap <= LOGIT_TOLERANCE,
        "{what}: the logits differ by up to {gap} from the loopback model's"
    );
    eprintln!("{what}: logits within {gap:.2e} of the loopback model's");
}

pub fn all_ok(out: &[Ended]) {
    for (i, e) in out.iter().enumerate() {
        assert!(e.ok, "process {i} failed: {}", e.text);
    }
}

/// The same session on loopback (no namespaces, no relays): the reference model.
pub fn loopback_model(dir: &Path, session: &Session) -> Vec<f64> {
    let cfg = session.write(dir);
    let out = wait_all(
        cfg.iter().map(|c| spawn(c)).collect(),
        Duration::from_secs(120),
    );
    all_ok(&out);
    model(&dir.join("out-0"))
}

/// No output folder holds a half-written file, and no model or report was written by a failed run.
pub fn no_outputs(dir: &Path) {
    for f in files_under(dir) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.contains("partial") && name != "model.json" && name != "report.md",
            "a failed run left {}",
            f.display()
        );
    }
}
