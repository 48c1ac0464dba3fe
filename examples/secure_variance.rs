//! A researcher's starting point: three hospitals compute the mean and the variance of their pooled patient
//! ages without showing each other a single age.
//!
//! Each hospital secret-shares its ages; the parties add shares locally, open only the total to get the mean,
//! square the centred values with Beaver multiplication and fixed-point truncation (dealer preprocessing),
//! and open only the sum of squares. Run it with `cargo run --example secure_variance`.

use mpc::core::preprocessing::DealerSource;
use mpc::core::protocols::poly::{mul_fixed, Truncation};
use mpc::core::protocols::{input, open};
use mpc::core::{simulate_with, FixedPoint, Shared, SimOptions, Z128};

const AGES: [&[f64]; 3] = [
    &[34.0, 51.0, 68.0, 45.0, 72.0],
    &[29.0, 63.0, 58.0, 41.0],
    &[80.0, 55.0, 47.0, 66.0, 38.0, 50.0],
];

#[tokio::main]
async fn main() -> Result<(), mpc::core::Error> {
    let fx = FixedPoint::Z128_DEFAULT;
    let opts = SimOptions {
        dealer: true,
        ..Default::default()
    };
    let outputs = simulate_with(opts, 3, move |mut ctx| async move {
        let me = ctx.id();
        let mut source = DealerSource::<Z128>::connect(&ctx).await?;
        // Every hospital shares its own ages; the counts are public.
        let mut pooled = Vec::new();
        for (owner, ages) in AGES.iter().enumerate() {
            let mine = (owner == me)
                .then(|| fx.encode_slice::<Z128>(ages))
                .transpose()?;
            pooled.push(input::share_from(&mut ctx, owner, mine.as_deref(), ages.len()).await?);
        }
        let all = Shared::concat(&pooled.iter().collect::<Vec<_>>());
        let count = all.len() as f64;
        // Open only the total: the mean is a declared output.
        let total = fx.decode(open::open(&mut ctx, &all.sum()).await?[0]);
        let mean = total / count;
        let centred = all.add_public(me, &vec![fx.encode::<Z128>(-mean)?; all.len()])?;
        let squares = mul_fixed(
            &mut ctx,
            &centred,
            &centred,
            fx,
            Truncation::Pairs,
            &mut source,
        )
        .await?;
        let variance = fx.decode(open::open(&mut ctx, &squares.sum()).await?[0]) / count;
        Ok((mean, variance))
    })
    .await?;

    let plain: Vec<f64> = AGES.iter().flat_map(|a| a.iter().copied()).collect();
    let mean = plain.iter().sum::<f64>() / plain.len() as f64;
    let variance = plain.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / plain.len() as f64;
    println!("party  mean      variance   rounds  bytes sent");
    for (party, out) in outputs.iter().enumerate() {
        let (m, v) = out
            .result
            .as_ref()
            .map_err(|e| mpc::core::Error::Network(e.to_string()))?;
        println!(
            "{party:>5}  {m:<8.4}  {v:<9.4}  {:>6}  {:>10}",
            out.stats.rounds,
            out.stats.bytes_sent()
        );
    }
    println!("plain  {mean:<8.4}  {variance:<9.4}  (computed in the clear for comparison)");
    Ok(())
}
