use mpc_core::prg::Seed;
use mpc_core::{Ring, Z64};
use std::time::Instant;
fn main() {
    let mut v = vec![Z64(0); 4_000_000];
    let mut prg = Seed::from_bytes([1; 32]).prg(0);
    for _ in 0..3 {
        let t = Instant::now();
        Z64::fill_random(&mut prg, &mut v);
        let dt = t.elapsed().as_secs_f64();
        println!("chacha12: {:.2} GB/s", 32e6 / dt / 1e9);
    }
    let t = Instant::now();
    let w: Vec<Z64> = v.iter().map(|&x| x * x).collect();
    println!("mul {:?}", t.elapsed());
    let t = Instant::now();
    let b = Z64::encode_slice(&w);
    println!("encode {:?} {}", t.elapsed(), b.len());
    let t = Instant::now();
    let d = Z64::decode_slice(&b).unwrap();
    println!("decode {:?} {}", t.elapsed(), d.len());
    let mut d = d;
    let t = Instant::now();
    zeroize::Zeroize::zeroize(&mut d);
    println!("zeroize 4M {:?}", t.elapsed());
}
