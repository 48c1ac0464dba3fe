//! What a run opens to whom: the receivers get the final model alone unless every party asks for per-epoch
//! snapshots (`epoch_models`), a non-receiver gets no model, and the traffic shows exactly the weight
//! vectors opened; the report says what it could not show. Horizontal and vertical, with the dealer.

mod common;

use mpc_core::context::Stats;
use mpc_core::preprocessing::DealerSource;
use mpc_core::{simulate_with, SimOptions};
use mpc_ml::psi::PsiOptions;
use mpc_ml::report::{loss_svg, markdown, Comparison, RunInfo};
use mpc_ml::secure::disclosures;
use mpc_ml::vertical::{
    self, run_vertical_local, VerticalLocalOptions, VerticalOptions, VerticalSpec,
};
use mpc_ml::{
    LocalOptions, LocalRun, ModelKind, PreprocessingKind, Solver, TrainConfig, TrainOutput,
    Transport,
};

/// Bytes of one opened Z128 element.
const ELEMENT: i64 = 16;

fn config(epochs: usize, epoch_models: bool) -> TrainConfig {
    TrainConfig {
        epochs,
        receivers: vec![0],
        epoch_models,
        solver: Solver::GradientDescent,
        ..TrainConfig::default()
    }
}

/// Bytes party `from` sent party `to` in the second run minus the first.
fn extra_bytes(a: &[Stats], b: &[Stats], from: usize, to: usize) -> i64 {
    b[from].peers[to].bytes_sent as i64 - a[from].peers[to].bytes_sent as i64
}

/// The announcements carry the options as JSON: their length differs by the spelling of `true`/`false`.
fn announce_delta(without: &TrainConfig, with: &TrainConfig) -> i64 {
    serde_json::to_vec(with).unwrap().len() as i64
        - serde_json::to_vec(without).unwrap().len() as i64
}

/// The models each party received; a receiver's last one is its model.
fn check_models(outputs: &[&TrainOutput], receivers: &[usize], opened: usize) {
    for out in outputs {
        if receivers.contains(&out.party) {
            assert_eq!(out.epoch_models.len(), opened, "party {}", out.party);
            assert_eq!(out.epoch_models.last(), out.model.as_ref());
        } else {
            assert!(out.model.is_none(), "party {} is no receiver", out.party);
            assert!(out.epoch_models.is_empty() && out.own_loss_per_epoch.is_empty());
        }
        let model = out.revealed.last().unwrap();
        assert_eq!(model.to, receivers);
    }
}

/// Checks that the second run sent exactly `(epochs - 1) * (d + 1)` more elements to each receiver from
/// every other party, and nothing more on any other link (beyond the announcements' spelling).
fn check_traffic(a: &[Stats], b: &[Stats], receivers: &[usize], extra_elements: i64, delta: i64) {
    let n = a.len();
    for from in 0..n {
        for to in (0..n).filter(|&t| t != from) {
            let want = delta
                + if receivers.contains(&to) && !receivers.contains(&from) {
                    extra_elements * ELEMENT
                } else {
                    0
                };
            assert_eq!(
                extra_bytes(a, b, from, to),
                want,
                "bytes from party {from} to party {to}"
            );
        }
    }
}

async fn horizontal(config: TrainConfig) -> LocalRun {
    let options = LocalOptions {
        config,
        preprocessing: PreprocessingKind::Dealer,
        progress: None,
    };
    mpc_ml::run_local(common::hospitals(), options, Transport::InMemory)
        .await
        .unwrap()
}

/// Three hospitals, model to party 0: by default one weight vector is opened, with `epoch_models` one per
/// epoch; the parties 1 and 2 get none either way, and the bytes each link carries differ by exactly the
/// extra vectors, sent only towards the receiver.
#[tokio::test]
async fn horizontal_receivers_get_the_final_model_unless_epoch_models() {
    let epochs = 3;
    let (without, with) = (config(epochs, false), config(epochs, true));
    let a = horizontal(without.clone()).await;
    let b = horizontal(with.clone()).await;
    let outputs =
        |r: &LocalRun| -> Vec<TrainOutput> { r.parties.iter().map(|p| p.output.clone()).collect() };
    let (oa, ob) = (outputs(&a), outputs(&b));
    check_models(&oa.iter().collect::<Vec<_>>(), &[0], 1);
    check_models(&ob.iter().collect::<Vec<_>>(), &[0], epochs);
    assert!(oa[0].revealed.last().unwrap().what.contains("final model"));
    assert!(ob[0].revealed.last().unwrap().what.contains("3 epochs"));
    let d = a.train[0].features.len() as i64;
    let stats =
        |r: &LocalRun| -> Vec<Stats> { r.parties.iter().map(|p| p.stats.clone()).collect() };
    check_traffic(
        &stats(&a),
        &stats(&b),
        &[0],
        (epochs as i64 - 1) * (d + 1),
        announce_delta(&without, &with),
    );

    // The report shows the secure loss it has: the final one, or the curve.
    let info = RunInfo {
        files: vec!["a".into(), "b".into(), "c".into()],
        preprocessing: PreprocessingKind::Dealer,
        transport: "in-memory".into(),
    };
    let ca = Comparison::of(&a, &without).unwrap();
    assert_eq!(ca.plain_loss.len(), epochs);
    assert_eq!(ca.secure_loss.len(), epochs);
    assert!(ca.secure_loss[..epochs - 1].iter().all(Option::is_none));
    let last = ca.secure_loss[epochs - 1].unwrap();
    assert!(
        (last - ca.plain_loss[epochs - 1]).abs() < 0.05,
        "secure final loss {last} against plaintext {}",
        ca.plain_loss[epochs - 1]
    );
    let md = markdown(&ca, &a, &without, &info);
    assert!(md.contains("| 1 | - |"), "{md}");
    assert!(md.contains("needs `epoch_models = true`"), "{md}");
    assert!(md.contains("the final model's weights and intercept, opened once"));
    let svg = loss_svg(&[("secure", &ca.secure_points(), "red")]);
    assert_eq!(svg.matches("<circle").count(), 1, "{svg}");

    let cb = Comparison::of(&b, &with).unwrap();
    assert!(cb.secure_curve());
    for (s, p) in cb.secure_loss.iter().zip(&cb.plain_loss) {
        assert!((s.unwrap() - p).abs() < 0.05, "{s:?} against {p}");
    }
    let md = markdown(&cb, &b, &with, &info);
    assert!(!md.contains("needs `epoch_models"), "{md}");
    assert!(md.contains("after each of the 3 epochs"), "{md}");
}

async fn vertical_run(config: TrainConfig) -> vertical::VerticalRun {
    let spec = VerticalSpec {
        id_column: "patient_id".into(),
        label: "malignant".into(),
        features: None,
        model: ModelKind::Logistic,
    };
    let parties = ["vertical_clinic.csv", "vertical_lab.csv"]
        .iter()
        .enumerate()
        .map(|(p, f)| vertical::load_vertical_csv(p, &common::data_dir().join(f), &spec).unwrap())
        .collect();
    let local = VerticalLocalOptions {
        options: VerticalOptions {
            config,
            psi: PsiOptions::default(),
        },
        preprocessing: PreprocessingKind::Dealer,
        progress: None,
    };
    run_vertical_local(parties, local, Transport::InMemory)
        .await
        .unwrap()
}

/// A clinic and a lab, model to the clinic: the same counts as horizontally, and the lab sends the clinic
/// exactly the extra vectors.
#[tokio::test]
async fn vertical_receivers_get_the_final_model_unless_epoch_models() {
    let epochs = 2;
    let (without, with) = (config(epochs, false), config(epochs, true));
    let a = vertical_run(without.clone()).await;
    let b = vertical_run(with.clone()).await;
    check_models(
        &a.outputs.iter().map(|o| &o.output).collect::<Vec<_>>(),
        &[0],
        1,
    );
    check_models(
        &b.outputs.iter().map(|o| &o.output).collect::<Vec<_>>(),
        &[0],
        epochs,
    );
    let d = a.outputs[0].output.feature_owners.len() as i64;
    let stats = |r: &vertical::VerticalRun| -> Vec<Stats> {
        r.run.parties.iter().map(|p| p.stats.clone()).collect()
    };
    check_traffic(
        &stats(&a),
        &stats(&b),
        &[0],
        (epochs as i64 - 1) * (d + 1),
        announce_delta(&without, &with),
    );
}

/// `epoch_models` is one of the training options every party must agree on.
#[tokio::test]
async fn parties_that_disagree_on_epoch_models_all_stop() {
    let parties = std::sync::Arc::new(common::diabetes());
    let out = simulate_with(
        SimOptions {
            dealer: true,
            ..Default::default()
        },
        2,
        move |mut ctx| {
            let parties = parties.clone();
            async move {
                let me = ctx.id();
                let config = TrainConfig {
                    model: ModelKind::Linear,
                    epochs: 1,
                    epoch_models: me == 1,
                    ..TrainConfig::default()
                };
                let mut source = DealerSource::connect(&ctx).await?;
                let r = mpc_ml::train_party(&mut ctx, &mut source, &parties[me], &config).await;
                r.map(|_| ())
                    .map_err(|e| mpc_core::Error::InvalidArgument(e.to_string()))
            }
        },
    )
    .await
    .unwrap();
    for o in out {
        let e = o.result.unwrap_err().to_string();
        assert!(
            e.contains("disagrees") && e.contains("the training option `epoch_models`"),
            "{e}"
        );
    }
}

/// The closed form opens one model whatever `epoch_models` says, and says so.
#[tokio::test]
async fn the_closed_form_opens_one_model_with_or_without_epoch_models() {
    let config = TrainConfig {
        model: ModelKind::Linear,
        solver: Solver::ClosedForm,
        epoch_models: true,
        receivers: vec![1],
        ..TrainConfig::default()
    };
    assert_eq!(config.models_opened(), 1);
    let options = LocalOptions {
        config,
        preprocessing: PreprocessingKind::Dealer,
        progress: None,
    };
    let run = mpc_ml::run_local(common::diabetes(), options, Transport::InMemory)
        .await
        .unwrap();
    let outputs: Vec<&TrainOutput> = run.parties.iter().map(|p| &p.output).collect();
    check_models(&outputs, &[1], 1);
    assert!(outputs[1]
        .revealed
        .last()
        .unwrap()
        .what
        .contains("opened once"));
}

/// With two parties, the opened global sums give each the other's per-column statistics: the disclosures
/// say so for two parties, and only then.
#[test]
fn two_party_standardization_is_listed_as_revealing_the_other_party() {
    let two = |model| {
        disclosures(
            2,
            &TrainConfig {
                model,
                ..TrainConfig::default()
            },
        )
    };
    let other = |list: &[mpc_ml::secure::Disclosure]| {
        list.iter()
            .find(|d| d.what.contains("the other party's mean and variance"))
            .cloned()
    };
    let logistic = other(&two(ModelKind::Logistic)).expect("listed for two parties");
    assert_eq!(logistic.to, vec![0, 1]);
    assert!(!logistic.what.contains("label"));
    assert!(other(&two(ModelKind::Linear))
        .unwrap()
        .what
        .contains("label"));
    assert!(other(&disclosures(3, &TrainConfig::default())).is_none());
    let none = TrainConfig {
        standardize: mpc_ml::Standardize::None,
        ..TrainConfig::default()
    };
    assert!(other(&disclosures(2, &none)).is_none());
}
