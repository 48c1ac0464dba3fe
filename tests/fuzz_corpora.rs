//! Runs every fuzz target's body (`fuzz/src/lib.rs`) over its corpus in `fuzz/corpus/<target>/`, so that the
//! harness builds, and every kept input still passes, in `cargo test` without cargo-fuzz. The ignored test
//! `write_seeds` writes the hand-made seeds the corpora started from (`cargo test --test fuzz_corpora --
//! --ignored write_seeds`); `scripts/fuzz.sh` grows the corpora.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

use mpc_core::ot::base;
use mpc_net::wire::{encode_stream_header, frame_prefix, Control, Hello, PROTOCOL_VERSION};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

#[test]
fn every_target_passes_its_corpus() {
    for target in harness::TARGETS {
        let dir = corpus_dir(target);
        let mut inputs = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            assert!(harness::run(target, &data), "no target {target}");
            inputs += 1;
        }
        assert!(
            inputs >= 3,
            "{target}: only {inputs} inputs in {}",
            dir.display()
        );
    }
    assert!(!harness::run("no-such-target", b""));
}

/// The seeds: valid encodings of each decoder's input, and a few near misses.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| {
        out.push((target, format!("seed-{name}"), data));
    };

    // frames: [max selector][header][frames].
    let mut stream = vec![16];
    stream.extend_from_slice(&encode_stream_header(3));
    for m in [&b"hello"[..], b"", &[0u8; 40]] {
        stream.extend_from_slice(&frame_prefix(m.len()).unwrap());
        stream.extend_from_slice(m);
    }
    add("frames", "three-frames", stream.clone());
    stream[0] = 2;
    add("frames", "frame-too-large", stream);
    add(
        "frames",
        "header-only",
        encode_stream_header(u32::MAX).to_vec(),
    );

    // control and hello.
    let hello = Hello {
        version: PROTOCOL_VERSION,
        session_id: "study-2026".into(),
        roster_digest: [7; 32],
        from: 1,
        to: 0,
        nonce: [9; 32],
    };
    let controls = [
        ("hello", Control::Hello(hello.clone())),
        (
            "abort",
            Control::Abort {
                reason: "bad input file".into(),
            },
        ),
        ("bye", Control::Bye { streams: 12 }),
        ("drained", Control::Drained),
        ("run", Control::Run { run_id: [3; 32] }),
    ];
    for (name, c) in &controls {
        add("control", name, c.encode());
    }
    add("hello", "matching", Control::Hello(hello.clone()).encode());
    let other = |f: &dyn Fn(&mut Hello)| {
        let mut h = hello.clone();
        f(&mut h);
        Control::Hello(h).encode()
    };
    add("hello", "old-version", other(&|h| h.version = 1));
    add(
        "hello",
        "other-session",
        other(&|h| h.session_id = "other\x1b[31m".into()),
    );
    add(
        "hello",
        "other-roster",
        other(&|h| h.roster_digest = [1; 32]),
    );
    add("hello", "other-ids", other(&|h| h.to = 2));
    add("hello", "not-a-hello", Control::Drained.encode());

    // dealer: [length][ring tag][id u64][request: kind, five u64 fields], per message.
    let request = |ring: u8, id: u64, kind: u8, f: [u64; 5]| {
        let mut m = vec![ring];
        m.extend_from_slice(&id.to_le_bytes());
        m.push(kind);
        for x in f {
            m.extend_from_slice(&x.to_le_bytes());
        }
        let mut framed = vec![m.len() as u8];
        framed.extend(m);
        framed
    };
    let kinds: [(&str, u8, [u64; 5]); 8] = [
        ("triples", 1, [4, 0, 0, 0, 0]),
        ("bounded-triples", 1, [4, 70, 0, 0, 0]),
        ("matrix-triple", 2, [2, 3, 4, 0, 0]),
        ("trunc", 5, [5, 20, 0, 0, 0]),
        ("random", 6, [5, 0, 0, 0, 0]),
        ("squares", 7, [3, 1, 70, 0, 0]),
        ("bit-triples", 8, [2, 0, 0, 0, 0]),
        ("dabits", 9, [130, 0, 0, 0, 0]),
    ];
    for ring in 1..=3u8 {
        for (name, kind, f) in kinds {
            add(
                "dealer",
                &format!("ring{ring}-{name}"),
                request(ring, 0, kind, f),
            );
        }
    }
    let mut mask = request(1, 0, 3, [3, 2, 0, 0, 0]);
    mask.extend(request(1, 1, 4, [0, 0, 2, 2, 0]));
    mask.extend(request(1, 2, 4, [0, 1, 3, 2, 1]));
    add("dealer", "mask-then-triples", mask);
    add(
        "dealer",
        "id-goes-back",
        [
            request(2, 5, 1, [1, 0, 0, 0, 0]),
            request(2, 4, 1, [1, 0, 0, 0, 0]),
        ]
        .concat(),
    );

    // preprocessing: [selector][shape][message]; real base-OT points where points are read.
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (_, a) = base::Sender::start(&mut rng, 0, 1);
    add(
        "preprocessing",
        "base-sender-point",
        [vec![1, 0b101], a.clone()].concat(),
    );
    let (_, b) = base::Receiver::respond(&mut rng, 0, 1, &a, &[true, false, true]).unwrap();
    add(
        "preprocessing",
        "base-receiver-points",
        [vec![0, 2], b].concat(),
    );
    let noise: Vec<u8> = (0..97u32).map(|i| (i * 37 % 251) as u8).collect();
    for sel in 0..8u8 {
        for shape in [0u8, 0x25, 0xa3, 0xff] {
            add(
                "preprocessing",
                &format!("sel{sel}-shape{shape:02x}"),
                [vec![sel | 0x80, shape], noise.clone()].concat(),
            );
        }
    }

    // psi: [selector][count][message].
    let psi: [(&str, u8, u8, Vec<u8>); 10] = [
        (
            "announcement",
            0,
            0,
            br#"{"ids":3,"min_intersection":1,"reveal":"Rows"}"#.to_vec(),
        ),
        ("points", 1, 2, vec![0; 64]),
        ("sorted-keys", 2, 2, [vec![0; 32], vec![1; 32]].concat()),
        ("count", 3, 9, 4u64.to_le_bytes().to_vec()),
        ("bitmap", 4, 9, vec![2, 0, 0, 0, 0, 0, 0, 0, 0b11, 0]),
        (
            "vertical-announcement",
            5,
            0,
            br#"{"features":["a"],"holds_label":true,"label":"y","id_column":"id","config":{}}"#
                .to_vec(),
        ),
        (
            "moments",
            6,
            2,
            br#"{"mean":[0.5,1e3],"sd":[1.0,2.5],"label":[0.1,0.2]}"#.to_vec(),
        ),
        (
            "training-announcement",
            7,
            0,
            br#"{"features":["a","b"],"label":"y","config":{},"rows":10}"#.to_vec(),
        ),
        ("choice", 8, 0, vec![2]),
        (
            "moments-nan",
            6,
            1,
            br#"{"mean":[NaN],"sd":[-1],"label":null}"#.to_vec(),
        ),
    ];
    for (name, sel, len, body) in psi {
        add("psi", name, [vec![sel, len], body].concat());
    }

    // configuration files and CSV files from the repository.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["hospital-a", "hospital-b", "hospital-c", "dealer"] {
        let text = std::fs::read(root.join(format!("examples/deployment/{name}.toml"))).unwrap();
        add("net_config", name, text.clone());
        add(
            "train_config",
            &format!("{name}-plain"),
            [vec![0], text.clone()].concat(),
        );
        add(
            "train_config",
            &format!("{name}-roster"),
            [vec![0x17], text].concat(),
        );
    }
    for (file, sel) in [
        ("hospital_a", 0u8),
        ("hospital_b", 2),
        ("hospital_c", 4),
        ("vertical_clinic", 1),
        ("vertical_lab", 5),
    ] {
        let text = std::fs::read_to_string(root.join(format!("data/{file}.csv"))).unwrap();
        let head: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
        add("csv", file, [vec![sel], head.into_bytes()].concat());
    }
    out
}

#[test]
#[ignore = "writes the seeds into fuzz/corpus/; run by hand"]
fn write_seeds() {
    for (target, name, data) in seeds() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    }
}

#[test]
fn every_seed_passes() {
    for (target, name, data) in seeds() {
        assert!(harness::run(target, &data), "{target}/{name}");
    }
}
