//! The `[train]` table of a party's TOML config file (the rest of the file, the network part, belongs to
//! mpc-net and is ignored here). Every error names the file, the line, the column and the field.
//!
//! ```toml
//! [train]
//! data = "hospital_a.csv"        # this party's CSV file, relative to the config file
//! label = "malignant"
//! id_column = "patient_id"       # optional; required with partitioning = "vertical"
//! partitioning = "horizontal"    # or "vertical": other columns about the same people, rows matched by a
//!                                # private set intersection on id_column; the party whose file has the
//!                                # label column holds the label
//! min_intersection = 10          # vertical only: the smallest intersection accepted
//! features = ["mean_radius"]     # optional: default every column but the label and the id
//! model = "logistic"             # or "linear"
//! solver = "auto"                # default: "newton" for logistic regression up to 64 features, else
//!                                # "gradient_descent"; "closed_form": linear model, up to 64 features
//! c = 1.0                        # newton: scikit-learn's C (penalty |w|^2 / 2C on the summed loss)
//! epochs = 10
//! batch_size = 64
//! learning_rate = 0.1
//! l2 = 0.0
//! standardize = "global"         # or "none"
//! preprocessing = "dealer"       # or "ot"
//! receivers = [0]                # the parties that receive the model
//! epoch_models = false           # true: open the model after every epoch to the receivers (loss curve)
//! sigma = 40                     # statistical security of the whole run, in bits (every party the same)
//! out = "mpc-out"                # output directory, relative to the config file
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::{ModelKind, Partitioning, PreprocessingKind, Solver, Standardize, TrainConfig};
use crate::data::DataSpec;
use crate::error::{Error, Result};

/// A party's parsed and checked `[train]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSection {
    /// This party's CSV file (resolved against the config file's folder).
    pub data: PathBuf,
    /// Which columns to read.
    pub spec: DataSpec,
    /// The training options.
    pub config: TrainConfig,
    /// The preprocessing.
    pub preprocessing: PreprocessingKind,
    /// The output directory (resolved against the config file's folder).
    pub out: PathBuf,
    /// Horizontal or vertical partitioning.
    pub partitioning: Partitioning,
    /// Vertical runs: the smallest intersection accepted.
    pub min_intersection: usize,
}

#[derive(Deserialize)]
struct Doc {
    train: Option<Spanned<Raw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    data: Spanned<String>,
    label: Spanned<String>,
    id_column: Option<Spanned<String>>,
    features: Option<Spanned<Vec<String>>>,
    model: Option<Spanned<String>>,
    solver: Option<Spanned<String>>,
    epochs: Option<Spanned<i64>>,
    batch_size: Option<Spanned<i64>>,
    learning_rate: Option<Spanned<f64>>,
    l2: Option<Spanned<f64>>,
    c: Option<Spanned<f64>>,
    standardize: Option<Spanned<String>>,
    preprocessing: Option<Spanned<String>>,
    receivers: Option<Spanned<Vec<i64>>>,
    out: Option<Spanned<String>>,
    partitioning: Option<Spanned<String>>,
    min_intersection: Option<Spanned<i64>>,
    epoch_models: Option<bool>,
    sigma: Option<Spanned<i64>>,
}

/// Reads the `[train]` table of the config file at `path`.
pub fn load_train_section(path: &Path) -> Result<TrainSection> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: path.display().to_string(),
        line: 0,
        column: 0,
        field: "train".into(),
        reason: format!("cannot read the file: {e}"),
    })?;
    parse_train_section(path, &text)
}

/// The file's text without a UTF-8 byte-order mark (the lines stay the same).
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// What the roster says about the session: the checks of the `[train]` table that depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// Number of computing parties (ids `0..parties`).
    pub parties: usize,
    /// Whether the roster has a dealer entry.
    pub dealer: bool,
}

/// Reads the `[train]` table of the config file at `path` and checks it against the session's roster: the
/// receivers are parties of the session, and `dealer` preprocessing (the default) has a dealer to talk to.
pub fn load_train_section_for(path: &Path, session: Session) -> Result<TrainSection> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: path.display().to_string(),
        line: 0,
        column: 0,
        field: "train".into(),
        reason: format!("cannot read the file: {e}"),
    })?;
    parse(path, &text, Some(session))
}

/// Parses the `[train]` table of `text`, the content of the config file at `path`.
pub fn parse_train_section(path: &Path, text: &str) -> Result<TrainSection> {
    parse(path, text, None)
}

/// [`parse_train_section`], with the checks against the roster if `session` is given.
pub fn parse_train_section_for(path: &Path, text: &str, session: Session) -> Result<TrainSection> {
    parse(path, text, Some(session))
}

fn parse(path: &Path, text: &str, session: Option<Session>) -> Result<TrainSection> {
    let text = without_bom(text);
    let name = path.display().to_string();
    let at = |span: Option<Range<usize>>, field: &str, reason: String| {
        let (line, column) = span.map_or((0, 0), |s| line_col(text, s.start));
        Error::Config {
            path: name.clone(),
            line,
            column,
            field: field.to_string(),
            reason,
        }
    };
    let doc: Doc = toml::from_str(text).map_err(|e| {
        let field = e
            .span()
            .map(|s| key_at(text, s.start))
            .unwrap_or_else(|| "train".into());
        at(e.span(), &field, e.message().trim().to_string())
    })?;
    let Some(raw) = doc.train else {
        return Err(at(None, "train", "the file has no [train] table".into()));
    };
    let table_span = raw.span();
    let raw = raw.into_inner();
    let base = path.parent().unwrap_or(Path::new("."));
    let parse_enum =
        |v: &Option<Spanned<String>>, _: &str| -> Result<Option<(String, Range<usize>)>> {
            Ok(v.as_ref().map(|s| (s.get_ref().clone(), s.span())))
        };
    let named = |field: &str| format!("train.{field}");
    let model = match parse_enum(&raw.model, "model")? {
        Some((v, span)) => v
            .parse::<ModelKind>()
            .map_err(|e| at(Some(span), &named("model"), reason_of(e)))?,
        None => ModelKind::Logistic,
    };
    let solver = match parse_enum(&raw.solver, "solver")? {
        Some((v, span)) => v
            .parse::<Solver>()
            .map_err(|e| at(Some(span), &named("solver"), reason_of(e)))?,
        None => Solver::Auto,
    };
    let standardize = match parse_enum(&raw.standardize, "standardize")? {
        Some((v, span)) => v
            .parse::<Standardize>()
            .map_err(|e| at(Some(span), &named("standardize"), reason_of(e)))?,
        None => Standardize::Global,
    };
    let preprocessing = match parse_enum(&raw.preprocessing, "preprocessing")? {
        Some((v, span)) => v
            .parse::<PreprocessingKind>()
            .map_err(|e| at(Some(span), &named("preprocessing"), reason_of(e)))?,
        None => PreprocessingKind::Dealer,
    };
    let count = |v: &Option<Spanned<i64>>, field: &str, default: usize| -> Result<usize> {
        match v {
            Some(s) => usize::try_from(*s.get_ref()).map_err(|_| {
                at(
                    Some(s.span()),
                    &named(field),
                    format!("{} is negative", s.get_ref()),
                )
            }),
            None => Ok(default),
        }
    };
    let defaults = TrainConfig::default();
    let receivers = match &raw.receivers {
        Some(s) => s
            .get_ref()
            .iter()
            .map(|&p| {
                usize::try_from(p).map_err(|_| {
                    at(
                        Some(s.span()),
                        &named("receivers"),
                        format!("{p} is not a party id"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?,
        None => defaults.receivers.clone(),
    };
    let config = TrainConfig {
        model,
        epochs: count(&raw.epochs, "epochs", defaults.epochs)?,
        batch_size: count(&raw.batch_size, "batch_size", defaults.batch_size)?,
        learning_rate: raw
            .learning_rate
            .as_ref()
            .map_or(defaults.learning_rate, |s| *s.get_ref()),
        l2: raw.l2.as_ref().map_or(defaults.l2, |s| *s.get_ref()),
        c: raw.c.as_ref().map_or(defaults.c, |s| *s.get_ref()),
        standardize,
        receivers,
        solver,
        epoch_models: raw.epoch_models.unwrap_or(defaults.epoch_models),
        sigma: match &raw.sigma {
            Some(s) => u32::try_from(*s.get_ref()).map_err(|_| {
                at(
                    Some(s.span()),
                    &named("sigma"),
                    format!("{} is not in {:?}", s.get_ref(), crate::config::SIGMA_RANGE),
                )
            })?,
            None => defaults.sigma,
        },
    };
    // The roster (and so the number of parties) is mpc-net's: without it, receivers are checked at the start.
    let parties = session.map_or(usize::MAX, |s| s.parties);
    if let Err(Error::Option { field, reason }) = config.validate(parties) {
        let key = field.replace('-', "_");
        let span = match key.as_str() {
            "epochs" => raw.epochs.as_ref().map(|s| s.span()),
            "batch_size" => raw.batch_size.as_ref().map(|s| s.span()),
            "learning_rate" => raw.learning_rate.as_ref().map(|s| s.span()),
            "l2" => raw.l2.as_ref().map(|s| s.span()),
            "c" => raw.c.as_ref().map(|s| s.span()),
            "receivers" => raw.receivers.as_ref().map(|s| s.span()),
            "solver" => raw.solver.as_ref().map(|s| s.span()),
            "sigma" => raw.sigma.as_ref().map(|s| s.span()),
            _ => None,
        };
        return Err(at(span, &named(&key), reason));
    }
    if let Some(session) = session {
        if preprocessing == PreprocessingKind::Dealer && !session.dealer {
            let (span, default) = match &raw.preprocessing {
                Some(s) => (s.span(), ""),
                None => (table_span.clone(), " (the default)"),
            };
            return Err(at(
                Some(span),
                &named("preprocessing"),
                format!(
                    "`dealer`{default} needs a dealer in the roster, and it has none: add a [[party]] entry with role = \"dealer\", or set preprocessing = \"ot\" in every party's [train] table"
                ),
            ));
        }
    }
    let non_empty = |s: &Spanned<String>, field: &str| -> Result<String> {
        if s.get_ref().trim().is_empty() {
            return Err(at(Some(s.span()), &named(field), "is empty".into()));
        }
        Ok(s.get_ref().clone())
    };
    let data = base.join(non_empty(&raw.data, "data")?);
    let label = non_empty(&raw.label, "label")?;
    let id_column = raw
        .id_column
        .as_ref()
        .map(|s| non_empty(s, "id_column"))
        .transpose()?;
    if let Some(f) = &raw.features {
        if f.get_ref().is_empty() {
            return Err(at(
                Some(f.span()),
                &named("features"),
                "the list is empty".into(),
            ));
        }
    }
    let out = match &raw.out {
        Some(s) => base.join(non_empty(s, "out")?),
        None => base.join("mpc-out"),
    };
    let partitioning = match parse_enum(&raw.partitioning, "partitioning")? {
        Some((v, span)) => v
            .parse::<Partitioning>()
            .map_err(|e| at(Some(span), &named("partitioning"), reason_of(e)))?,
        None => Partitioning::Horizontal,
    };
    if partitioning == Partitioning::Vertical && id_column.is_none() {
        let span = raw.partitioning.as_ref().map(|s| s.span());
        return Err(at(
            span,
            &named("id_column"),
            "vertical partitioning needs `id_column`, the column the rows are matched on".into(),
        ));
    }
    let min_intersection = count(
        &raw.min_intersection,
        "min_intersection",
        crate::psi::DEFAULT_MIN_INTERSECTION,
    )?;
    if min_intersection == 0 {
        let span = raw.min_intersection.as_ref().map(|s| s.span());
        return Err(at(
            span,
            &named("min_intersection"),
            "must be at least 1".into(),
        ));
    }
    Ok(TrainSection {
        data,
        spec: DataSpec {
            label,
            id_column,
            features: raw.features.map(Spanned::into_inner),
            model,
        },
        config,
        preprocessing,
        out,
        partitioning,
        min_intersection,
    })
}

fn reason_of(e: Error) -> String {
    match e {
        Error::Option { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

/// The dotted key whose line contains byte offset `at` (for parse errors, which carry only a span).
fn key_at(text: &str, at: usize) -> String {
    let (line, _) = line_col(text, at);
    let src = text.lines().nth(line - 1).unwrap_or("");
    let table = text
        .lines()
        .take(line)
        .filter_map(|l| l.trim().strip_prefix('[').and_then(|r| r.strip_suffix(']')))
        .last()
        .unwrap_or("")
        .trim_matches(|c| c == '[' || c == ']');
    match src.split_once('=') {
        Some((k, _)) if !table.is_empty() => format!("{table}.{}", k.trim()),
        Some((k, _)) => k.trim().to_string(),
        None if !table.is_empty() => table.to_string(),
        None => "train".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "session = \"s\"\nparty_id = 0\n\n[train]\ndata = \"a.csv\"\nlabel = \"y\"\nepochs = 5\nreceivers = [0, 1]\n\n[[party]]\nid = 0\n";

    fn err(text: &str) -> String {
        parse_train_section(Path::new("/cfg/p.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_and_resolves_paths() {
        let s = parse_train_section(Path::new("/cfg/p.toml"), GOOD).unwrap();
        assert_eq!(s.data, PathBuf::from("/cfg/a.csv"));
        assert_eq!(s.out, PathBuf::from("/cfg/mpc-out"));
        assert_eq!(s.config.epochs, 5);
        assert_eq!(s.config.receivers, vec![0, 1]);
        assert_eq!(s.config.batch_size, 64);
        assert_eq!(s.preprocessing, PreprocessingKind::Dealer);
        assert_eq!(s.partitioning, Partitioning::Horizontal);
        assert_eq!(s.config.solver, Solver::Auto);
        assert!(
            !s.config.epoch_models,
            "per-epoch models are off by default"
        );
        let e = parse_train_section(
            Path::new("/cfg/p.toml"),
            &GOOD.replace("epochs = 5", "epoch_models = true"),
        )
        .unwrap();
        assert!(e.config.epoch_models);
        assert_eq!(s.config.sigma, crate::config::DEFAULT_SIGMA);
        let strict = GOOD.replace("epochs = 5", "epochs = 5\nsigma = 60");
        let strict = parse_train_section(Path::new("/cfg/p.toml"), &strict).unwrap();
        assert_eq!(strict.config.sigma, 60);
        for bad in ["sigma = 10", "sigma = -1"] {
            let e = err(&GOOD.replace("epochs = 5", bad));
            assert!(e.contains("line 7") && e.contains("train.sigma"), "{e}");
        }
        let c = GOOD.replace(
            "epochs = 5",
            "model = \"linear\"\nsolver = \"closed_form\"\nl2 = 0.5",
        );
        let s = parse_train_section(Path::new("/cfg/p.toml"), &c).unwrap();
        assert_eq!(s.config.solver, Solver::ClosedForm);
        assert_eq!(s.config.l2, 0.5);
        let v = GOOD.replace(
            "epochs = 5",
            "partitioning = \"vertical\"\nid_column = \"pid\"\nmin_intersection = 20",
        );
        let s = parse_train_section(Path::new("/cfg/p.toml"), &v).unwrap();
        assert_eq!(s.partitioning, Partitioning::Vertical);
        assert_eq!(s.spec.id_column.as_deref(), Some("pid"));
        assert_eq!(s.min_intersection, 20);
    }

    #[test]
    fn the_roster_decides_receivers_and_the_source() {
        let two = Session {
            parties: 2,
            dealer: true,
        };
        let p = Path::new("/cfg/p.toml");
        assert!(parse_train_section_for(p, GOOD, two).is_ok());
        let e = parse_train_section_for(p, &GOOD.replace("[0, 1]", "[5]"), two)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 8") && e.contains("train.receivers") && e.contains("no party 5"),
            "{e}"
        );
        let no_dealer = Session {
            parties: 2,
            dealer: false,
        };
        let e = parse_train_section_for(p, GOOD, no_dealer)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 4")
                && e.contains("train.preprocessing")
                && e.contains("(the default) needs a dealer in the roster"),
            "{e}"
        );
        let ot = GOOD.replace("epochs = 5", "preprocessing = \"ot\"");
        assert!(parse_train_section_for(p, &ot, no_dealer).is_ok());
        let e = parse_train_section_for(
            p,
            &GOOD.replace("epochs = 5", "preprocessing = \"dealer\""),
            no_dealer,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 7") && e.contains("needs a dealer"), "{e}");
    }

    #[test]
    fn vertical_needs_an_id_column() {
        let e = err(&GOOD.replace("epochs = 5", "partitioning = \"vertical\""));
        assert!(
            e.contains("line 7") && e.contains("train.id_column") && e.contains("vertical"),
            "{e}"
        );
        let e = err(&GOOD.replace("epochs = 5", "partitioning = \"diagonal\""));
        assert!(
            e.contains("train.partitioning") && e.contains("`diagonal`"),
            "{e}"
        );
        let e = err(&GOOD.replace("epochs = 5", "id_column = \"p\"\nmin_intersection = 0"));
        assert!(e.contains("train.min_intersection"), "{e}");
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let e = err(&GOOD.replace("epochs = 5", "epochs = 0"));
        assert!(
            e.contains("/cfg/p.toml, line 7, column 10: field `train.epochs`"),
            "{e}"
        );
        let e = err(&GOOD.replace("epochs = 5", "epochs = -2"));
        assert!(
            e.contains("line 7") && e.contains("train.epochs") && e.contains("negative"),
            "{e}"
        );
        let e = err(&GOOD.replace("epochs = 5", "epochs = \"ten\""));
        assert!(e.contains("line 7") && e.contains("train.epochs"), "{e}");
        let e = err(&GOOD.replace("epochs = 5", "epoch = 5"));
        assert!(e.contains("line 7") && e.contains("unknown field"), "{e}");
        let e = err(&GOOD.replace("epochs = 5", "model = \"tree\""));
        assert!(
            e.contains("line 7") && e.contains("train.model") && e.contains("`tree`"),
            "{e}"
        );
        let e = err(&GOOD.replace("epochs = 5", "learning_rate = -0.1"));
        assert!(
            e.contains("line 7") && e.contains("train.learning_rate"),
            "{e}"
        );
        let e = err(&GOOD.replace("epochs = 5", "solver = \"bogus\""));
        assert!(
            e.contains("line 7, column 10: field `train.solver`") && e.contains("`bogus`"),
            "{e}"
        );
        let e = err(&GOOD.replace("epochs = 5", "solver = \"closed_form\""));
        assert!(
            e.contains("line 7, column 10: field `train.solver`")
                && e.contains("linear regression only"),
            "{e}"
        );
        let e = err(&GOOD.replace(
            "epochs = 5",
            "model = \"linear\"\nstandardize = \"none\"\nsolver = \"closed_form\"",
        ));
        assert!(
            e.contains("line 9") && e.contains("train.solver") && e.contains("standardize"),
            "{e}"
        );
        let e = err(&GOOD.replace("label = \"y\"\n", ""));
        assert!(e.contains("missing field `label`"), "{e}");
        let e = err("party_id = 0\n");
        assert!(e.contains("no [train] table"), "{e}");
        let e = err(&GOOD.replace("epochs = 5", "epochs = 5 5"));
        assert!(e.contains("line 7"), "{e}");
    }
}
