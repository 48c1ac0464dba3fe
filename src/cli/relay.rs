//! `mpc relay`: a test and evaluation tool, not part of a deployment. A UDP relay that emulates a wide-area
//! link in front of one party (`mpc_net::relay`): it listens on `--listen`, forwards every datagram to
//! `--upstream`, keeps one upstream socket per client (so replies find their client), and applies to each
//! direction the same one-way delay, jitter, random loss, bandwidth limit and cut schedule. It prints the
//! address it listens on, runs until SIGTERM or Ctrl-C, then prints what it delivered and dropped.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use mpc_net::relay::{Cut, LinkShape, Relay, RelayConfig};

use super::common::say;
use super::CliResult;
use std::io::Write;

/// Arguments of `mpc relay`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (port 0: any free port; the one chosen is printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Address every client's datagrams are forwarded to (the party's own listen address).
    #[arg(long, value_name = "ADDR")]
    pub upstream: SocketAddr,
    /// One-way delay of each direction, e.g. `10ms` (a round trip through the relay takes twice this).
    #[arg(long, value_parser = duration, default_value = "0ms")]
    pub delay: Duration,
    /// Jitter: each datagram's delay varies uniformly by up to this much either way (never reordering).
    #[arg(long, value_parser = duration, default_value = "0ms")]
    pub jitter: Duration,
    /// Probability that a datagram is lost, per direction, e.g. `0.01`.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Bandwidth of each direction, e.g. `100mbit`, `1gbit`, `500kbit` (bits per second); no limit by default.
    #[arg(long, value_parser = bandwidth)]
    pub rate: Option<u64>,
    /// Bytes a direction queues before dropping (tail drop), e.g. `256KiB`; by default 50 ms at `--rate`,
    /// at least 64 KiB.
    #[arg(long, value_parser = bytes)]
    pub queue: Option<usize>,
    /// Cut the link (both directions) this long after the relay starts, e.g. `2s`.
    #[arg(long, value_parser = duration)]
    pub cut_at: Option<Duration>,
    /// How long the cut lasts; without it, the cut lasts for good.
    #[arg(long, value_parser = duration, requires = "cut_at")]
    pub cut_for: Option<Duration>,
    /// Seed of the loss and jitter draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Runs `mpc relay`.
pub fn run(args: Args) -> CliResult {
    let queue = args.queue.unwrap_or_else(|| {
        args.rate
            .map_or(1 << 20, |bps| (bps / 8 / 20) as usize)
            .max(65_536)
    });
    let shape = LinkShape {
        delay: args.delay,
        jitter: args.jitter,
        loss: args.loss,
        bandwidth: args.rate,
        queue_bytes: queue,
        cuts: args
            .cut_at
            .map(|at| Cut {
                at,
                length: args.cut_for,
            })
            .into_iter()
            .collect(),
    };
    let mut config = RelayConfig::symmetric(args.listen, args.upstream, shape);
    config.seed = args.seed;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let relay = Relay::start(config).await?;
        say!(
            "relay: listening on {}, forwarding to {} (a test and evaluation tool)",
            relay.local_addr(),
            args.upstream
        );
        stopped().await?;
        let s = relay.stats();
        say!(
            "relay: clients: {}; client to upstream: {}",
            s.clients,
            s.up
        );
        say!("relay: upstream to client: {}", s.down);
        Ok(ExitCode::SUCCESS)
    })
}

/// Waits for SIGTERM or Ctrl-C.
async fn stopped() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Splits `text` into a number and a unit suffix (lower case).
fn number_and_unit(text: &str) -> Result<(f64, String), String> {
    let t = text.trim();
    let at = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let number: f64 = t[..at]
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    if !number.is_finite() || number < 0.0 {
        return Err(format!("`{text}` is not a non-negative number"));
    }
    Ok((number, t[at..].trim().to_ascii_lowercase()))
}

/// A duration such as `10ms`, `2s`, `1.5s`, `250us` (a bare number is in milliseconds).
fn duration(text: &str) -> Result<Duration, String> {
    let (n, unit) = number_and_unit(text)?;
    let secs = match unit.as_str() {
        "s" => n,
        "ms" | "" => n / 1e3,
        "us" => n / 1e6,
        _ => return Err(format!("`{text}`: say s, ms or us")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// A bandwidth in bits per second such as `100mbit`, `1gbit`, `500kbit`, `1000000` (bits per second).
fn bandwidth(text: &str) -> Result<u64, String> {
    let (n, unit) = number_and_unit(text)?;
    let scale = match unit.as_str() {
        "" | "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        _ => return Err(format!("`{text}`: say kbit, mbit or gbit")),
    };
    let bps = (n * scale).round();
    if bps < 1.0 {
        return Err(format!("`{text}`: at least 1 bit per second"));
    }
    Ok(bps as u64)
}

/// A size in bytes such as `256KiB`, `1MiB`, `65536`.
fn bytes(text: &str) -> Result<usize, String> {
    let (n, unit) = number_and_unit(text)?;
    let scale = match unit.as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        _ => return Err(format!("`{text}`: say KiB, MiB, kB or MB")),
    };
    Ok((n * scale).round() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read() {
        assert_eq!(duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(duration("7"), Ok(Duration::from_millis(7)));
        assert!(duration("3h").unwrap_err().contains("say s, ms or us"));
        assert!(duration("-1s").is_err() && duration("ms").is_err());
        assert_eq!(bandwidth("100mbit"), Ok(100_000_000));
        assert_eq!(bandwidth("1Gbit"), Ok(1_000_000_000));
        assert_eq!(bandwidth("0.5kbit"), Ok(500));
        assert!(bandwidth("0mbit").is_err() && bandwidth("10mb").is_err());
        assert_eq!(bytes("256KiB"), Ok(262_144));
        assert_eq!(bytes("1MiB"), Ok(1 << 20));
        assert_eq!(bytes("65536"), Ok(65_536));
        assert!(bytes("1GiB").is_err());
    }
}
