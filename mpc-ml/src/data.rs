//! CSV loading and validation for horizontally partitioned data: every party holds rows of the same columns.
//!
//! A file has a header line; the label column and an optional id column are named; the features are a given
//! list or every other column. Every bad cell is reported with the party, the file, the line and the column:
//! an empty cell, a non-number, a non-finite value, a value outside [`INPUT_LIMIT`], or (for logistic
//! regression) a label that is not 0 or 1. Rows with too few or too many cells, a missing label, id or
//! feature column, and duplicated column names are errors too; nothing is skipped silently.

use std::path::Path;

use mpc_core::{FixedPoint, PartyId, Z128};
use zeroize::Zeroize;

use crate::config::ModelKind;
use crate::error::{Error, Result};

/// Largest magnitude a raw value may have: `2^24` (16,777,216). It keeps the secret-shared sums of squares
/// that standardization needs below the bound of [`crate::secure`]'s sums format for up to [`MAX_ROWS`] rows.
pub const INPUT_LIMIT: f64 = 16_777_216.0;

/// Largest magnitude a value may have when standardization is `none`: `2^6`, so that gradient products stay
/// below the fixed-point bound.
pub const UNSCALED_LIMIT: f64 = 64.0;

/// Largest magnitude a standardized value may have: `2^12`. Standardizing `n` rows puts each of them within
/// `sqrt(n)` standard deviations of the mean (below `2^11` for [`MAX_ROWS`] rows), so a larger value means
/// a column whose spread the fixed-point sums could not resolve, and is an error. It is a public bound on
/// every training value: the `ot` source sends shorter corrections for data below it.
pub const STANDARDIZED_LIMIT: f64 = 4096.0;

/// Most data rows a run may have in total (and so a party): `2^22` (4,194,304). The shared sums of squares of
/// values below [`INPUT_LIMIT`] then stay below `2^70`, inside the sums format (`2^120` at 20 fractional
/// bits); memory, not arithmetic, is the limit beyond.
pub const MAX_ROWS: usize = 1 << 22;

/// Fewest data rows a party may bring: enough for at least one test row and four training rows.
pub const MIN_ROWS: usize = 5;

/// The fixed-point format that checks raw values (20 fractional bits, magnitudes below [`INPUT_LIMIT`]).
pub(crate) const INPUT_FORMAT: FixedPoint = FixedPoint {
    frac_bits: 20,
    bound_bits: 44,
};

/// Which columns to read from a party's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSpec {
    /// The label column.
    pub label: String,
    /// An id column to ignore (for example `patient_id`), if the file has one.
    pub id_column: Option<String>,
    /// The feature columns, in order; `None` means every column but the label and the id column.
    pub features: Option<Vec<String>>,
    /// The model, which decides how labels are checked (0/1 for logistic regression).
    pub model: ModelKind,
}

/// One party's rows, checked. Its values and labels are wiped on drop and never shown by `Debug`.
#[derive(Clone, PartialEq)]
pub struct PartyData {
    /// The party's id.
    pub party: PartyId,
    /// The file the rows come from (for error messages).
    pub path: String,
    /// Feature names, in column order.
    pub features: Vec<String>,
    /// The label column's name.
    pub label: String,
    /// Feature values, one vector per row.
    pub rows: Vec<Vec<f64>>,
    /// Label values, one per row.
    pub labels: Vec<f64>,
    /// The file line of each row (the header is line 1).
    pub lines: Vec<u64>,
}

/// Wipes the values and labels (and so empties the rows); names and line numbers stay.
impl Zeroize for PartyData {
    fn zeroize(&mut self) {
        self.rows.zeroize();
        self.labels.zeroize();
    }
}

impl Drop for PartyData {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl std::fmt::Debug for PartyData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartyData")
            .field("party", &self.party)
            .field("path", &self.path)
            .field("features", &self.features)
            .field("label", &self.label)
            .field("rows", &format_args!("[{}; <redacted>]", self.rows.len()))
            .finish_non_exhaustive()
    }
}

impl PartyData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> PartyData {
        PartyData {
            party: self.party,
            path: self.path.clone(),
            features: self.features.clone(),
            label: self.label.clone(),
            rows: indices.iter().map(|&i| self.rows[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            lines: indices.iter().map(|&i| self.lines[i]).collect(),
        }
    }
}

/// Reads and checks party `party`'s CSV file.
pub fn load_csv_file(party: PartyId, path: &Path, spec: &DataSpec) -> Result<PartyData> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        party,
        path: name.clone(),
        reason: e.to_string(),
    })?;
    load_csv_str(party, &name, &text, spec)
}

/// Checks party `party`'s CSV text; `name` names the file in errors.
pub fn load_csv_str(party: PartyId, name: &str, text: &str, spec: &DataSpec) -> Result<PartyData> {
    let header_err = |reason: String| Error::Header {
        party,
        path: name.to_string(),
        line: 1,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Io {
            party,
            path: name.to_string(),
            reason: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(header_err("the file has no header line".into()));
    }
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(header_err(format!("column {} has an empty name", i + 1)));
        }
        if header[..i].contains(h) {
            return Err(header_err(format!("column `{h}` appears twice")));
        }
    }
    let find = |col: &str, what: &str| {
        header
            .iter()
            .position(|h| h == col)
            .ok_or_else(|| header_err(format!("no {what} column `{col}` in the header")))
    };
    let label_at = find(&spec.label, "label")?;
    let id_at = match &spec.id_column {
        Some(id) => Some(find(id, "id")?),
        None => None,
    };
    let feature_at: Vec<usize> = match &spec.features {
        Some(list) => {
            if list.is_empty() {
                return Err(header_err("the feature list is empty".into()));
            }
            let mut at = Vec::with_capacity(list.len());
            for f in list {
                let i = find(f, "feature")?;
                if i == label_at || Some(i) == id_at {
                    return Err(header_err(format!(
                        "`{f}` is the label or id column and cannot be a feature"
                    )));
                }
                at.push(i);
            }
            at
        }
        None => (0..header.len())
            .filter(|&i| i != label_at && Some(i) != id_at)
            .collect(),
    };
    if feature_at.is_empty() {
        return Err(header_err(
            "no feature columns besides the label and id".into(),
        ));
    }
    let mut data = PartyData {
        party,
        path: name.to_string(),
        features: feature_at.iter().map(|&i| header[i].clone()).collect(),
        label: spec.label.clone(),
        rows: Vec::new(),
        labels: Vec::new(),
        lines: Vec::new(),
    };
    let lines = Lines::of_text(text);
    for record in reader.records() {
        let record = record.map_err(|e| Error::Io {
            party,
            path: name.to_string(),
            reason: e.to_string(),
        })?;
        let line = lines.of(&record);
        if record.len() == 1 && record.get(0) == Some("") {
            continue; // a blank line
        }
        if record.len() != header.len() {
            return Err(Error::Row {
                party,
                path: name.to_string(),
                line,
                reason: format!(
                    "{} cells where the header has {} columns",
                    record.len(),
                    header.len()
                ),
            });
        }
        let cell = |i: usize| -> Result<f64> {
            let text = record.get(i).unwrap_or("");
            parse_cell(text).map_err(|mut reason| {
                if i != label_at && !text.is_empty() && text.parse::<f64>().is_err() {
                    reason.push_str(&text_column_hint(&header[i], spec.id_column.is_some()));
                }
                Error::Cell {
                    party,
                    path: name.to_string(),
                    line,
                    column: header[i].clone(),
                    reason,
                }
            })
        };
        let row = feature_at
            .iter()
            .map(|&i| cell(i))
            .collect::<Result<Vec<f64>>>()?;
        let label = cell(label_at)?;
        if spec.model == ModelKind::Logistic && label != 0.0 && label != 1.0 {
            return Err(Error::Cell {
                party,
                path: name.to_string(),
                line,
                column: header[label_at].clone(),
                reason: format!("a logistic regression label must be 0 or 1, got {label}"),
            });
        }
        data.rows.push(row);
        data.labels.push(label);
        data.lines.push(line);
    }
    if data.len() > MAX_ROWS {
        return Err(Error::Data {
            party,
            path: name.to_string(),
            reason: format!("more than {MAX_ROWS} data rows"),
        });
    }
    if data.len() < MIN_ROWS {
        return Err(Error::Data {
            party,
            path: name.to_string(),
            reason: format!(
                "{} data rows; at least {MIN_ROWS} are needed (for a training and a test split)",
                data.len()
            ),
        });
    }
    Ok(data)
}

/// What to do about a feature column that holds text: it is likely an id column, to be named as such (or,
/// when an id column is already named, left out of the features).
fn text_column_hint(column: &str, has_id_column: bool) -> String {
    if has_id_column {
        format!(
            "; if `{column}` is not a feature, leave it out with `--features` (command line) or `features = [...]` ([train] table)"
        )
    } else {
        format!(
            "; `{column}` looks like an id column: name it with `--id-column {column}` (command line) or `id_column = \"{column}\"` ([train] table), and it is left out of the features"
        )
    }
}

/// The file's line numbers, from the byte offset where a record starts: every `\n` ends a line, so a file
/// with CRLF line ends (as spreadsheet programs write them) or quoted cells spanning lines gets the lines an
/// editor shows (the CSV reader's own line count is off for CRLF files).
pub(crate) struct Lines<'a> {
    text: &'a [u8],
    ends: Vec<u64>,
}

impl<'a> Lines<'a> {
    pub(crate) fn of_text(text: &'a str) -> Lines<'a> {
        Lines {
            text: text.as_bytes(),
            ends: text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u64)
                .collect(),
        }
    }

    /// The 1-based line on which `record` starts. The reader's position is the end of the previous record
    /// (its line end, CR, LF or CRLF, not yet skipped), so line ends from there on are skipped first.
    pub(crate) fn of(&self, record: &csv::StringRecord) -> u64 {
        record.position().map_or(0, |p| {
            let mut at = p.byte() as usize;
            while matches!(self.text.get(at), Some(b'\r' | b'\n')) {
                at += 1;
            }
            self.ends.partition_point(|&end| end < at as u64) as u64 + 1
        })
    }
}

pub(crate) fn parse_cell(s: &str) -> std::result::Result<f64, String> {
    if s.is_empty() {
        return Err("the cell is empty".into());
    }
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    INPUT_FORMAT
        .encode::<Z128>(v)
        .map_err(|e| match e {
            mpc_core::Error::NonFinite { .. } => format!("`{s}` is not a finite number"),
            _ => format!(
                "{v} is outside the accepted range (magnitude below {INPUT_LIMIT}, so that secret-shared sums of squares fit the fixed-point format)"
            ),
        })?;
    Ok(v)
}

/// Checks that every party has party 0's feature columns, in the same order: the error names the party, its
/// file and line 1, and the first column that differs.
pub fn check_same_columns(parties: &[PartyData]) -> Result<()> {
    let Some(first) = parties.first() else {
        return Ok(());
    };
    for p in &parties[1..] {
        if p.features == first.features && p.label == first.label {
            continue;
        }
        let reason = if let Some(c) = p.features.iter().find(|c| !first.features.contains(c)) {
            format!(
                "column `{c}` is not in party {}'s file {}",
                first.party, first.path
            )
        } else if let Some(c) = first.features.iter().find(|c| !p.features.contains(c)) {
            format!(
                "column `{c}` of party {}'s file {} is missing",
                first.party, first.path
            )
        } else {
            format!(
                "the feature columns are in another order than in party {}'s file {}",
                first.party, first.path
            )
        };
        return Err(Error::Header {
            party: p.party,
            path: p.path.clone(),
            line: 1,
            reason,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DataSpec {
        DataSpec {
            label: "y".into(),
            id_column: Some("id".into()),
            features: None,
            model: ModelKind::Logistic,
        }
    }

    const GOOD: &str = "id,a,b,y\nr1,1,2,0\nr2,3,4,1\nr3,5,6,0\nr4,7,8,1\nr5,9,10,1\n";

    /// `Debug` names the columns but shows no value or label, and `zeroize` (what drop runs) clears both.
    #[test]
    fn values_are_redacted_and_wiped() {
        let text = "id,a,b,y\np1,4321.75,8765.5,1\np2,1,2,0\np3,1,2,1\np4,1,2,0\np5,1,2,1\n";
        let mut data = load_csv_str(0, "x.csv", text, &spec()).unwrap();
        let shown = format!("{data:?}");
        assert!(
            shown.contains("<redacted>") && shown.contains("\"a\""),
            "{shown}"
        );
        assert!(
            !shown.contains("4321") && !shown.contains("8765"),
            "{shown}"
        );
        data.zeroize();
        assert!(data.rows.is_empty() && data.labels.is_empty());
    }

    /// A file saved by a spreadsheet program: a byte-order mark, CRLF line ends, quoted cells (one spanning
    /// two lines); the lines in errors are the file's.
    #[test]
    fn crlf_a_byte_order_mark_and_quoted_cells_keep_the_files_lines() {
        let text = "\u{feff}\"id\",\"a\",\"b\",\"y\"\r\n\"r1\",\"1\",\"2\",\"0\"\r\n\"r\r\n2\",3,4,1\r\nr3,5,6,0\r\nr4,7,8,1\r\nr5,9,10,1\r\n";
        let d = load_csv_str(0, "s.csv", text, &spec()).unwrap();
        assert_eq!(
            d.features,
            vec!["a", "b"],
            "the byte-order mark is not part of `id`"
        );
        assert_eq!(d.lines, vec![2, 3, 5, 6, 7]);
        let bad = text.replace("r4,7,", "r4,oops,");
        let e = load_csv_str(0, "s.csv", &bad, &spec())
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.csv, line 6, column `a`"), "{e}");
        let lf = bad.replace("\r\n", "\n");
        let e = load_csv_str(0, "s.csv", &lf, &spec())
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.csv, line 6, column `a`"), "{e}");
    }

    #[test]
    fn a_text_column_is_named_as_a_likely_id_column() {
        let no_id = DataSpec {
            id_column: None,
            ..spec()
        };
        let e = load_csv_str(0, "h.csv", GOOD, &no_id)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, column `id`")
                && e.contains("looks like an id column")
                && e.contains("--id-column id")
                && e.contains("id_column = \"id\""),
            "{e}"
        );
        let e = load_csv_str(0, "h.csv", &GOOD.replace("r2,3,", "r2,x,"), &spec())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3, column `a`") && e.contains("features"),
            "{e}"
        );
        let e = load_csv_str(0, "h.csv", &GOOD.replace("3,4,1", "3,4,z"), &spec())
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("id column") && !e.contains("features"),
            "no hint for a label: {e}"
        );
    }

    #[test]
    fn loads_and_keeps_lines() {
        let d = load_csv_str(2, "f.csv", GOOD, &spec()).unwrap();
        assert_eq!(d.features, vec!["a", "b"]);
        assert_eq!(d.rows[1], vec![3.0, 4.0]);
        assert_eq!(d.labels, vec![0.0, 1.0, 0.0, 1.0, 1.0]);
        assert_eq!(d.lines, vec![2, 3, 4, 5, 6]);
    }

    fn err(text: &str, spec: &DataSpec) -> String {
        load_csv_str(1, "f.csv", text, spec)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_cells_name_party_file_line_and_column() {
        let e = err(&GOOD.replace("r3,5,6", "r3,5,"), &spec());
        assert!(
            e.contains("party 1") && e.contains("f.csv, line 4, column `b`") && e.contains("empty"),
            "{e}"
        );
        let e = err(&GOOD.replace("r2,3,4", "r2,x3,4"), &spec());
        assert!(
            e.contains("line 3, column `a`") && e.contains("not a number"),
            "{e}"
        );
        let e = err(&GOOD.replace("r2,3,4", "r2,NaN,4"), &spec());
        assert!(
            e.contains("line 3, column `a`") && e.contains("not a finite"),
            "{e}"
        );
        let e = err(&GOOD.replace("r2,3,4", "r2,inf,4"), &spec());
        assert!(e.contains("not a finite"), "{e}");
        let e = err(&GOOD.replace("r2,3,4", "r2,1e30,4"), &spec());
        assert!(
            e.contains("line 3, column `a`") && e.contains("outside"),
            "{e}"
        );
        let e = err(&GOOD.replace("r5,9,10,1", "r5,9,10,2"), &spec());
        assert!(
            e.contains("line 6, column `y`") && e.contains("0 or 1"),
            "{e}"
        );
        let linear = DataSpec {
            model: ModelKind::Linear,
            ..spec()
        };
        assert!(load_csv_str(
            0,
            "f.csv",
            &GOOD.replace("r5,9,10,1", "r5,9,10,2.5"),
            &linear
        )
        .is_ok());
    }

    #[test]
    fn bad_rows_and_headers() {
        let e = err(&GOOD.replace("r3,5,6,0", "r3,5,6"), &spec());
        assert!(e.contains("line 4") && e.contains("3 cells"), "{e}");
        let e = err(&GOOD.replace("r3,5,6,0", "r3,5,6,0,9"), &spec());
        assert!(e.contains("line 4") && e.contains("5 cells"), "{e}");
        let e = err(&GOOD.replace(",y\n", ",z\n"), &spec());
        assert!(
            e.contains("line 1") && e.contains("no label column `y`"),
            "{e}"
        );
        let e = err(&GOOD.replace("id,", "key,"), &spec());
        assert!(e.contains("no id column `id`"), "{e}");
        let e = err(&GOOD.replace("a,b", "a,a"), &spec());
        assert!(e.contains("appears twice"), "{e}");
        let listed = DataSpec {
            features: Some(vec!["a".into(), "c".into()]),
            ..spec()
        };
        let e = err(GOOD, &listed);
        assert!(e.contains("no feature column `c`"), "{e}");
        let e = err("id,a,b,y\nr1,1,2,0\n", &spec());
        assert!(e.contains("1 data rows") && e.contains("at least 5"), "{e}");
        let e = err("", &spec());
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn columns_must_match_across_parties() {
        let a = load_csv_str(0, "a.csv", GOOD, &spec()).unwrap();
        let b = load_csv_str(1, "b.csv", &GOOD.replace("id,a,b,y", "id,a,c,y"), &spec()).unwrap();
        let e = check_same_columns(&[a.clone(), b]).unwrap_err().to_string();
        assert!(
            e.contains("party 1: b.csv, line 1")
                && e.contains("`c` is not in party 0's file a.csv"),
            "{e}"
        );
        let text = "id,a,b,c,y\nr1,1,2,3,0\nr2,1,2,3,0\nr3,1,2,3,0\nr4,1,2,3,0\nr5,1,2,3,0\n";
        let extra = load_csv_str(1, "b.csv", text, &spec()).unwrap();
        let e = check_same_columns(&[a, extra]).unwrap_err().to_string();
        assert!(e.contains("`c` is not in party 0's file"), "{e}");
    }
}
