//! The private set intersection against a plaintext join (small sets, and sets large enough to split the group
//! operations across cores): sizes, the joint order every party computes, independence of file order, refused
//! duplicates, the minimum size, and invalid points from a peer.

use std::collections::{BTreeSet, HashSet};

use mpc_core::{simulate_with, SimOptions};
use mpc_ml::psi::{self, IdList, Intersection, PsiOptions, Reveal};
use mpc_ml::Error;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Party `p`'s ids: `common` shared ids, then `own` ids only it has, shuffled with `seed`.
fn ids(p: usize, common: usize, own: usize, seed: u64) -> Vec<String> {
    let mut v: Vec<String> = (0..common)
        .map(|i| format!("P{i:05}"))
        .chain((0..own).map(|i| format!("Q{p}-{i}")))
        .collect();
    v.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    v
}

fn list(p: usize, ids: Vec<String>) -> IdList {
    let lines = (2..ids.len() as u64 + 2).collect();
    IdList::new(p, &format!("party{p}.csv"), "id", ids, lines).unwrap()
}

/// Runs the intersection for every party; each party's own result.
async fn run(lists: Vec<IdList>, min: usize) -> Vec<Result<Intersection, Error>> {
    let n = lists.len();
    let out = simulate_with(SimOptions::default(), n, move |mut ctx| {
        let list = lists[ctx.id()].clone();
        async move {
            let options = PsiOptions {
                min_intersection: min,
                ..PsiOptions::default()
            };
            Ok(psi::intersect(&mut ctx, &list, &options).await)
        }
    })
    .await
    .unwrap();
    out.into_iter().map(|o| o.result.unwrap()).collect()
}

fn plain_join(sets: &[Vec<String>]) -> BTreeSet<String> {
    let mut acc: BTreeSet<String> = sets[0].iter().cloned().collect();
    for s in &sets[1..] {
        let s: HashSet<&String> = s.iter().collect();
        acc.retain(|x| s.contains(x));
    }
    acc
}

/// Checks every party's result against the plaintext join and that all agree on the joint order.
fn check(sets: &[Vec<String>], results: &[Result<Intersection, Error>]) {
    let want = plain_join(sets);
    let mut order: Option<Vec<String>> = None;
    for (p, r) in results.iter().enumerate() {
        let r = r.as_ref().unwrap();
        let got: Vec<String> = r.rows.iter().map(|&i| sets[p][i].clone()).collect();
        assert_eq!(
            got.iter().cloned().collect::<BTreeSet<_>>(),
            want,
            "party {p}"
        );
        assert_eq!(got.len(), want.len(), "party {p} has a row twice");
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "party {p}: not in id order"
        );
        assert_eq!(r.set_sizes, sets.iter().map(Vec::len).collect::<Vec<_>>());
        match &order {
            None => order = Some(got),
            Some(o) => assert_eq!(o, &got, "party {p} orders the joint rows differently"),
        }
    }
}

#[tokio::test]
async fn two_parties_match_the_plaintext_join() {
    let sets = vec![ids(0, 30, 9, 1), ids(1, 30, 4, 2)];
    let lists = sets
        .iter()
        .enumerate()
        .map(|(p, s)| list(p, s.clone()))
        .collect();
    let results = run(lists, 10).await;
    check(&sets, &results);
    assert_eq!(results[0].as_ref().unwrap().len(), 30);
}

/// Sets large enough that each step's group operations are split across the cores (more than 2,048 points).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_sets_split_across_cores_match_the_plaintext_join() {
    for n in [2, 3] {
        let sets: Vec<Vec<String>> = (0..n)
            .map(|p| ids(p, 2100, 150 + 50 * p, 20 + p as u64))
            .collect();
        let lists = sets
            .iter()
            .enumerate()
            .map(|(p, s)| list(p, s.clone()))
            .collect();
        let results = run(lists, 10).await;
        check(&sets, &results);
        assert_eq!(results[0].as_ref().unwrap().len(), 2100);
    }
}

#[tokio::test]
async fn three_parties_match_the_plaintext_join() {
    // Party 0 and 1 share 5 ids that party 2 lacks: they must not be in the result.
    let mut sets = vec![ids(0, 20, 3, 3), ids(1, 20, 0, 4), ids(2, 20, 6, 5)];
    for i in 0..5 {
        sets[0].push(format!("R{i}"));
        sets[1].push(format!("R{i}"));
    }
    sets[2].truncate(24); // drop some of party 2's ids, whichever the shuffle put last
    let lists = sets
        .iter()
        .enumerate()
        .map(|(p, s)| list(p, s.clone()))
        .collect();
    let results = run(lists, 10).await;
    check(&sets, &results);
    let want = plain_join(&sets).len();
    assert!((14..=20).contains(&want), "{want}");
    assert!(results[2].as_ref().unwrap().revealed.len() == 2);
}

#[tokio::test]
async fn result_does_not_depend_on_file_order() {
    let a = ids(0, 15, 5, 6);
    let b = ids(1, 15, 2, 7);
    let mut b2 = b.clone();
    b2.reverse();
    let first = run(vec![list(0, a.clone()), list(1, b.clone())], 10).await;
    let second = run(vec![list(0, a.clone()), list(1, b2.clone())], 10).await;
    let matched = |set: &[String], r: &Result<Intersection, Error>| -> BTreeSet<String> {
        r.as_ref()
            .unwrap()
            .rows
            .iter()
            .map(|&i| set[i].clone())
            .collect()
    };
    assert_eq!(matched(&b, &first[1]), matched(&b2, &second[1]));
    assert_eq!(matched(&a, &first[0]), matched(&a, &second[0]));
    check(&[a.clone(), b2], &second);
}

#[test]
fn duplicate_and_empty_ids_are_refused_with_their_line() {
    let e = IdList::new(
        1,
        "lab.csv",
        "id",
        vec!["a".into(), "b".into(), "a".into()],
        vec![2, 3, 4],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("party 1") && e.contains("lab.csv") && e.contains("line 4"),
        "{e}"
    );
    assert!(e.contains("appears twice (first on line 2)"), "{e}");
    let e = IdList::new(0, "c.csv", "id", vec!["a".into(), "".into()], vec![2, 3])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("party 0") && e.contains("line 3") && e.contains("empty"),
        "{e}"
    );
}

#[tokio::test]
async fn small_and_empty_intersections_stop_every_party() {
    let small = run(vec![list(0, ids(0, 4, 8, 8)), list(1, ids(1, 4, 3, 9))], 10).await;
    for (p, r) in small.iter().enumerate() {
        let e = r.as_ref().unwrap_err().to_string();
        assert!(
            e.contains(&format!("party {p}: party{p}.csv"))
                && e.contains("has 4 rows; at least 10"),
            "{e}"
        );
    }
    let empty = run(vec![list(0, ids(0, 0, 8, 8)), list(1, ids(1, 0, 3, 9))], 1).await;
    for (p, r) in empty.iter().enumerate() {
        let e = r.as_ref().unwrap_err().to_string();
        assert!(
            e.contains(&format!("party{p}.csv")) && e.contains("is empty"),
            "{e}"
        );
    }
    // With a minimum of 4 the same sets pass.
    let ok = run(vec![list(0, ids(0, 4, 8, 8)), list(1, ids(1, 4, 3, 9))], 4).await;
    assert_eq!(ok[1].as_ref().unwrap().len(), 4);
}

#[tokio::test]
async fn differing_minimum_is_named() {
    let lists = [list(0, ids(0, 12, 0, 1)), list(1, ids(1, 12, 0, 2))];
    let out = simulate_with(SimOptions::default(), 2, move |mut ctx| {
        let list = lists[ctx.id()].clone();
        async move {
            let options = PsiOptions {
                min_intersection: 10 + ctx.id(),
                ..PsiOptions::default()
            };
            Ok(psi::intersect(&mut ctx, &list, &options).await)
        }
    })
    .await
    .unwrap();
    let e = out[0]
        .result
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("party 1 disagrees with party 0 on the minimum intersection"),
        "{e}"
    );
}

#[tokio::test]
async fn an_invalid_point_from_a_peer_is_refused_naming_it() {
    let honest = list(0, ids(0, 12, 0, 1));
    let out = simulate_with(SimOptions::default(), 2, move |mut ctx| {
        let honest = honest.clone();
        async move {
            if ctx.id() == 0 {
                return Ok(Some(
                    psi::intersect(&mut ctx, &honest, &PsiOptions::default())
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                ));
            }
            // A cheating party 1: a valid announcement, then 12 "points" that are not on the group.
            ctx.send_bytes(
                0,
                br#"{"ids":12,"min_intersection":10,"reveal":"Rows"}"#.to_vec(),
            )
            .await?;
            let _ = ctx.recv_bytes(0).await?;
            ctx.send_bytes(0, vec![0xff; 12 * 32]).await?;
            // Stay until party 0 gives up (its vector, then its abort).
            let _ = ctx.recv_bytes(0).await;
            let _ = ctx.recv_bytes(0).await;
            Ok(None)
        }
    })
    .await
    .unwrap();
    let e = out[0]
        .result
        .as_ref()
        .unwrap()
        .clone()
        .unwrap()
        .unwrap_err();
    assert!(
        e.contains("party 1") && e.contains("not a valid Ristretto point"),
        "{e}"
    );
}

/// Runs the size-only intersection for every party.
async fn run_size_only(lists: Vec<IdList>) -> Vec<Intersection> {
    let n = lists.len();
    let out = simulate_with(SimOptions::default(), n, move |mut ctx| {
        let list = lists[ctx.id()].clone();
        async move {
            let options = PsiOptions {
                reveal: Reveal::SizeOnly,
                ..PsiOptions::default()
            };
            Ok(psi::intersect(&mut ctx, &list, &options).await)
        }
    })
    .await
    .unwrap();
    out.into_iter()
        .map(|o| o.result.unwrap().unwrap())
        .collect()
}

#[tokio::test]
async fn size_only_reveals_the_size_and_no_rows() {
    for sets in [
        vec![ids(0, 25, 7, 11), ids(1, 25, 2, 12)],
        vec![ids(0, 18, 7, 13), ids(1, 18, 2, 14), ids(2, 18, 5, 15)],
    ] {
        let lists = sets
            .iter()
            .enumerate()
            .map(|(p, s)| list(p, s.clone()))
            .collect();
        let results = run_size_only(lists).await;
        let want = plain_join(&sets).len();
        for r in &results {
            assert_eq!((r.len(), r.rows.len()), (want, 0));
            assert!(
                r.revealed[0].what.contains("size of the intersection ("),
                "{:?}",
                r.revealed
            );
        }
    }
}
