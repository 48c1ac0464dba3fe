//! Vertical training against plaintext training on the joined table (joined in this test by a plaintext join
//! on the id), and the errors a file can cause, each naming the party and the file.

use std::collections::HashMap;
use std::path::PathBuf;

use mpc_ml::plain::{train_plain, Link};
use mpc_ml::psi::PsiOptions;
use mpc_ml::vertical::{self, VerticalData, VerticalLocalOptions, VerticalOptions, VerticalSpec};
use mpc_ml::{metrics, ModelKind, PartyData, PreprocessingKind, TrainConfig, Transport};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data")
}

fn spec(model: ModelKind, label: &str) -> VerticalSpec {
    VerticalSpec {
        id_column: "patient_id".into(),
        label: label.into(),
        features: None,
        model,
    }
}

fn clinic_lab() -> Vec<VerticalData> {
    let s = spec(ModelKind::Logistic, "malignant");
    ["vertical_clinic.csv", "vertical_lab.csv"]
        .iter()
        .enumerate()
        .map(|(p, f)| vertical::load_vertical_csv(p, &data_dir().join(f), &s).unwrap())
        .collect()
}

fn options(config: TrainConfig, min: usize) -> VerticalLocalOptions {
    VerticalLocalOptions {
        options: VerticalOptions {
            config,
            psi: PsiOptions {
                min_intersection: min,
                ..PsiOptions::default()
            },
        },
        preprocessing: PreprocessingKind::Dealer,
        progress: None,
    }
}

/// The plaintext join of every party's columns by id, as a map from id to (features in party order, label).
fn plain_join(parties: &[VerticalData]) -> HashMap<String, (Vec<f64>, f64)> {
    let mut out = HashMap::new();
    'ids: for id in &parties[0].ids.ids {
        let mut row = Vec::new();
        let mut label = None;
        for p in parties {
            let Some(j) = p.ids.ids.iter().position(|x| x == id) else {
                continue 'ids;
            };
            row.extend_from_slice(&p.rows[j]);
            if let Some(l) = &p.labels {
                label = Some(l[j]);
            }
        }
        out.insert(id.clone(), (row, label.unwrap()));
    }
    out
}

/// The joined table at `positions` of the run's joint order, taken from the plaintext join; also checks that
/// every party put the same id at every position.
fn table(run: &vertical::VerticalRun, parties: &[VerticalData], positions: &[usize]) -> PartyData {
    let join = plain_join(parties);
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for &t in positions {
        let id = &parties[0].ids.ids[run.outputs[0].intersection.rows[t]];
        for (p, out) in run.outputs.iter().enumerate() {
            assert_eq!(
                &parties[p].ids.ids[out.intersection.rows[t]], id,
                "party {p}, row {t}"
            );
        }
        let (r, y) = &join[id];
        rows.push(r.clone());
        labels.push(*y);
    }
    PartyData {
        party: 0,
        path: "join".into(),
        features: parties.iter().flat_map(|p| p.features.clone()).collect(),
        label: parties[0].label.clone(),
        lines: vec![0; rows.len()],
        rows,
        labels,
    }
}

#[tokio::test]
async fn clinic_and_lab_logistic_matches_plaintext_on_the_join() {
    let parties = clinic_lab();
    let config = TrainConfig::default();
    let run = vertical::run_vertical_local(
        parties.clone(),
        options(config.clone(), 10),
        Transport::InMemory,
    )
    .await
    .unwrap();
    let join = plain_join(&parties);
    let out0 = &run.outputs[0];
    assert_eq!(out0.intersection.len(), join.len());
    assert!(join.len() < parties[0].ids.len() && join.len() < parties[1].ids.len());
    let train = table(&run, &parties, &out0.train_positions);
    let test = table(&run, &parties, &out0.test_positions);
    let model = run.run.receiver().unwrap().model.clone().unwrap();
    assert_eq!(model.features, train.features);
    let owners = &run.run.parties[0].output.feature_owners;
    assert_eq!(owners.len(), 30);
    assert!(owners[..15].iter().all(|o| o.party == 0) && owners[15..].iter().all(|o| o.party == 1));
    let plain = train_plain(&[train], &config, Link::Exact).model;
    let secure = metrics::evaluate(&model, &test.rows, &test.labels)
        .accuracy
        .unwrap();
    let baseline = metrics::evaluate(&plain, &test.rows, &test.labels)
        .accuracy
        .unwrap();
    eprintln!("clinic/lab: secure accuracy {secure}, plaintext {baseline}");
    assert!(secure >= 0.95, "secure accuracy {secure}");
    assert!(
        (secure - baseline).abs() <= 0.01 + 1e-12,
        "secure {secure}, plaintext {baseline}"
    );
    // Only party 0 (the default receiver) learned the model.
    assert!(run.run.parties[1].output.model.is_none());
}

/// Three parties, a linear model: y = 3 a - 2 b + c + noise, with a and the label at party 0, b at party 1 and
/// c at party 2, ids in different orders and not all shared.
#[tokio::test]
async fn three_party_linear_matches_plaintext_on_the_join() {
    let n = 90;
    let val = |i: usize, k: usize| ((i * 37 + k * 101) % 97) as f64 / 10.0 - 4.0;
    let noise = |i: usize| ((i * 53) % 11) as f64 / 50.0 - 0.1;
    let mut texts = [
        String::from("pid,a,y\n"),
        String::from("pid,b\n"),
        String::from("c,pid\n"),
    ];
    for i in 0..n {
        let y = 3.0 * val(i, 0) - 2.0 * val(i, 1) + val(i, 2) + noise(i);
        if i % 10 != 3 {
            texts[0].push_str(&format!("id{i},{},{y}\n", val(i, 0)));
        }
        let j = n - 1 - i; // another order
        if j % 9 != 4 {
            texts[1].push_str(&format!("id{j},{}\n", val(j, 1)));
        }
        let k = (i * 7) % n; // 7 is prime to 90
        texts[2].push_str(&format!("{},id{k}\n", val(k, 2)));
    }
    let s = VerticalSpec {
        id_column: "pid".into(),
        ..spec(ModelKind::Linear, "y")
    };
    let parties: Vec<VerticalData> = texts
        .iter()
        .enumerate()
        .map(|(p, t)| vertical::load_vertical_str(p, &format!("p{p}.csv"), t, &s).unwrap())
        .collect();
    let config = TrainConfig {
        model: ModelKind::Linear,
        epochs: 20,
        batch_size: 16,
        receivers: vec![0, 2],
        ..TrainConfig::default()
    };
    let run = vertical::run_vertical_local(
        parties.clone(),
        options(config.clone(), 10),
        Transport::InMemory,
    )
    .await
    .unwrap();
    let join = plain_join(&parties);
    assert_eq!(run.outputs[2].intersection.len(), join.len());
    assert!(join.len() < 80 && join.len() > 60, "{}", join.len());
    let train = table(&run, &parties, &run.outputs[0].train_positions);
    let test = table(&run, &parties, &run.outputs[0].test_positions);
    let plain = train_plain(&[train], &config, Link::Exact).model;
    let model = run.run.parties[2].output.model.clone().unwrap();
    assert_eq!(model.features, vec!["a", "b", "c"]);
    let r2 = metrics::evaluate(&model, &test.rows, &test.labels)
        .r2
        .unwrap();
    let r2_plain = metrics::evaluate(&plain, &test.rows, &test.labels)
        .r2
        .unwrap();
    eprintln!("three-party linear: secure R2 {r2}, plaintext {r2_plain}");
    assert!(
        r2 > 0.95 && (r2 - r2_plain).abs() < 0.01,
        "{r2} against {r2_plain}"
    );
    for (w, p) in model.weights.iter().zip(&plain.weights) {
        assert!(
            (w - p).abs() < 0.05,
            "{:?} against {:?}",
            model.weights,
            plain.weights
        );
    }
}

fn clinic_text() -> String {
    std::fs::read_to_string(data_dir().join("vertical_clinic.csv")).unwrap()
}

fn lab_text() -> String {
    std::fs::read_to_string(data_dir().join("vertical_lab.csv")).unwrap()
}

async fn run_texts(texts: [&str; 2], min: usize) -> String {
    let s = spec(ModelKind::Logistic, "malignant");
    let mut parties = Vec::new();
    for (p, t) in texts.iter().enumerate() {
        match vertical::load_vertical_str(p, &format!("f{p}.csv"), t, &s) {
            Ok(d) => parties.push(d),
            Err(e) => return e.to_string(),
        }
    }
    match vertical::run_vertical_local(
        parties,
        options(TrainConfig::default(), min),
        Transport::InMemory,
    )
    .await
    {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn file_errors_name_party_file_and_line() {
    let clinic = clinic_text();
    let lab = lab_text();
    // A duplicated id in the lab file: line 4 repeats line 2's id.
    let mut lines: Vec<&str> = lab.lines().collect();
    let dup_id = lines[1].split(',').next().unwrap().to_string();
    let dup = format!("{dup_id},{}", lines[3].split_once(',').unwrap().1);
    lines[3] = &dup;
    let e = run_texts([&clinic, &lines.join("\n")], 10).await;
    assert!(
        e.contains("party 1: f1.csv, line 4, column `patient_id`") && e.contains("appears twice"),
        "{e}"
    );
    // An empty id in the clinic file.
    let mut lines: Vec<String> = clinic.lines().map(str::to_string).collect();
    lines[5] = format!(",{}", lines[5].split_once(',').unwrap().1);
    let e = run_texts([&lines.join("\n"), &lab], 10).await;
    assert!(
        e.contains("party 0: f0.csv, line 6") && e.contains("empty"),
        "{e}"
    );
    // No id column at the lab.
    let e = run_texts([&clinic, &lab.replacen("patient_id", "pid", 1)], 10).await;
    assert!(
        e.contains("party 1: f1.csv, line 1") && e.contains("no id column `patient_id`"),
        "{e}"
    );
    // No party with the label.
    let e = run_texts([&clinic.replacen("malignant", "outcome", 1), &lab], 10).await;
    assert!(
        e.contains("no party has the label column `malignant`"),
        "{e}"
    );
}

#[tokio::test]
async fn small_intersections_stop_every_party() {
    let clinic = clinic_text();
    let lab = lab_text();
    // Keep 6 lab rows whose ids the clinic has: 6 shared ids, below the default minimum of 10.
    let clinic_ids: Vec<&str> = clinic
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let mut lines: Vec<&str> = vec![lab.lines().next().unwrap()];
    lines.extend(
        lab.lines()
            .skip(1)
            .filter(|l| {
                l.split(',')
                    .next()
                    .is_some_and(|id| clinic_ids.contains(&id))
            })
            .take(6),
    );
    let e = run_texts([&clinic, &lines.join("\n")], 10).await;
    assert!(e.contains("has 6 rows; at least 10 are required"), "{e}");
    assert!(
        e.contains("party 0: f0.csv") || e.contains("party 1: f1.csv"),
        "{e}"
    );
    // Three shared ids pass a minimum of 1 but are too few to train on.
    let e = run_texts([&clinic, &lines[..4].join("\n")], 1).await;
    assert!(e.contains("has 3 rows; training needs at least 5"), "{e}");
    // No shared id at all.
    let other = lab.replace("\nP", "\nX");
    let e = run_texts([&clinic, &other], 1).await;
    assert!(e.contains("is empty: the parties share no id"), "{e}");
}

#[test]
fn a_feature_list_column_no_party_has_is_refused() {
    let parties = clinic_lab();
    let ok = ["mean_radius".to_string(), "worst_area".to_string()];
    assert!(vertical::check_feature_list(&parties, &ok).is_ok());
    let e = vertical::check_feature_list(&parties, &["mean_radios".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`mean_radios`"), "{e}");
}

#[tokio::test]
async fn a_feature_list_column_no_party_has_stops_the_session() {
    // The check every party makes during the agreement (a deployment has no process that sees every file).
    let mut s = spec(ModelKind::Logistic, "malignant");
    s.features = Some(vec![
        "mean_radius".into(),
        "worst_area".into(),
        "worst_aera".into(),
    ]);
    let parties: Vec<VerticalData> = ["vertical_clinic.csv", "vertical_lab.csv"]
        .iter()
        .enumerate()
        .map(|(p, f)| vertical::load_vertical_csv(p, &data_dir().join(f), &s).unwrap())
        .collect();
    let config = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    let e = vertical::run_vertical_local(parties, options(config, 10), Transport::InMemory)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("feature list names `worst_aera`"), "{e}");
}

/// Outlier records in a vertical split: twelve malignant patients whose every column, at the clinic and at
/// the lab, is three times its value (a unit error in both registries). Secure training matches plaintext
/// training on the join within 0.02 test accuracy, with the dealer and with OT.
#[tokio::test]
async fn outlier_records_match_plaintext_on_the_join() {
    let mut parties = clinic_lab();
    let labels = parties[0].labels.clone().unwrap();
    let chosen: Vec<String> = parties[0]
        .ids
        .ids
        .iter()
        .zip(&labels)
        .filter(|(_, &y)| y == 1.0)
        .map(|(id, _)| id.clone())
        .take(12)
        .collect();
    for p in &mut parties {
        let ids = p.ids.ids.clone();
        for (row, id) in p.rows.iter_mut().zip(&ids) {
            if chosen.contains(id) {
                row.iter_mut().for_each(|v| *v *= 3.0);
            }
        }
    }
    let config = TrainConfig::default();
    for pre in [PreprocessingKind::Dealer, PreprocessingKind::Ot] {
        let mut opts = options(config.clone(), 10);
        opts.preprocessing = pre;
        let run = vertical::run_vertical_local(parties.clone(), opts, Transport::InMemory)
            .await
            .unwrap();
        let out0 = &run.outputs[0];
        let train = table(&run, &parties, &out0.train_positions);
        let test = table(&run, &parties, &out0.test_positions);
        let receiver = run.run.receiver().unwrap();
        let model = receiver.model.clone().unwrap();
        // The default solver as the run resolved it (Newton's method with a dealer, descent with ot).
        let used = TrainConfig {
            solver: receiver.solver,
            ..config.clone()
        };
        let plain = train_plain(&[train], &used, Link::Exact).model;
        // Vertical training gets the same solver: Newton's method by default with a dealer (its run meets
        // the default sigma on this shape).
        if pre == PreprocessingKind::Dealer {
            assert_eq!(receiver.solver, mpc_ml::Solver::Newton);
        }
        let secure = metrics::evaluate(&model, &test.rows, &test.labels)
            .accuracy
            .unwrap();
        let baseline = metrics::evaluate(&plain, &test.rows, &test.labels)
            .accuracy
            .unwrap();
        eprintln!("vertical outliers ({pre:?}): secure {secure}, plaintext {baseline}");
        assert!(
            (secure - baseline).abs() <= 0.02,
            "{pre:?}: secure {secure}, plaintext {baseline}"
        );
    }
}
