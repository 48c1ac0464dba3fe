//! The model of one direction of an emulated link, without sockets or clocks: given when a datagram arrives
//! (time since the relay started) and its size, [`Link::admit`] decides whether it is dropped (cut, random
//! loss, full queue) or when it is delivered.
//!
//! In order: a datagram arriving while the link is cut ([`Cut`]) is dropped; then one is lost with
//! probability [`LinkShape::loss`] (from a seeded generator, so a run is reproducible); then, with a
//! bandwidth limit, it waits behind the datagrams already queued for the wire (serialization at
//! [`LinkShape::bandwidth`] bits per second) and is dropped if the queue would hold more than
//! [`LinkShape::queue_bytes`] (tail drop); it leaves the queue when its last bit is sent, and arrives
//! [`LinkShape::delay`] plus a jitter drawn uniformly from `[-jitter, +jitter]` later (never earlier than the
//! datagram before it: the link never reorders, so with or without jitter a direction keeps its order).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A cut of the link: from `at` (since the relay started) for `length`, or for good if `length` is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// When the cut starts.
    pub at: Duration,
    /// How long it lasts; `None`: it never ends.
    pub length: Option<Duration>,
}

impl Cut {
    /// Whether the link is cut at `t`.
    pub fn covers(&self, t: Duration) -> bool {
        t >= self.at && self.length.is_none_or(|l| t < self.at + l)
    }
}

/// What one direction of a link does to the datagrams it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkShape {
    /// One-way delay added to every datagram.
    pub delay: Duration,
    /// Half-width of the uniform jitter added to the delay (the sum is never negative).
    pub jitter: Duration,
    /// Probability that a datagram is lost, in `[0, 1]`.
    pub loss: f64,
    /// Bits per second of the link; `None`: no limit (no queue either).
    pub bandwidth: Option<u64>,
    /// Most bytes waiting to be serialized; a datagram that would exceed it is dropped. Only with a
    /// bandwidth limit.
    pub queue_bytes: usize,
    /// Cuts of the link, each checked on arrival and again on delivery (a datagram in flight when a cut
    /// starts is lost, as on a real link).
    pub cuts: Vec<Cut>,
}

impl Default for LinkShape {
    /// A perfect link: no delay, no loss, no limit, never cut.
    fn default() -> Self {
        LinkShape {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            bandwidth: None,
            queue_bytes: 1 << 20,
            cuts: Vec::new(),
        }
    }
}

impl LinkShape {
    /// Checks the shape: loss in `[0, 1]`, a bandwidth of at least 1 bit per second, a queue of at least one
    /// 64 KiB datagram when limited. The error says which value is wrong.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.loss) {
            return Err(format!(
                "loss must be a probability in [0, 1], not {}",
                self.loss
            ));
        }
        if self.bandwidth == Some(0) {
            return Err("bandwidth must be at least 1 bit per second".into());
        }
        if self.bandwidth.is_some() && self.queue_bytes < 65_536 {
            return Err(format!(
                "the queue must hold at least one 64 KiB datagram, not {} bytes",
                self.queue_bytes
            ));
        }
        Ok(())
    }

    /// Whether any cut covers `t`.
    pub fn cut_at(&self, t: Duration) -> bool {
        self.cuts.iter().any(|c| c.covers(t))
    }
}

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    /// The link was cut.
    Cut,
    /// Random loss.
    Loss,
    /// The queue was full (tail drop).
    QueueFull,
}

/// What happens to one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Dropped, for this reason.
    Drop(Drop),
    /// Delivered at this time (since the relay started).
    Deliver(Duration),
}

/// One direction of a link: its shape and its state (the queue, the last delivery, the generator).
#[derive(Debug)]
pub struct Link {
    shape: LinkShape,
    rng: StdRng,
    /// When the wire is free again (the last queued datagram's last bit is sent).
    wire_free: Duration,
    /// The delivery time of the last datagram admitted.
    last_delivery: Duration,
}

impl Link {
    /// A link of this shape whose loss and jitter are drawn from a generator seeded with `seed`.
    pub fn new(shape: LinkShape, seed: u64) -> Link {
        Link {
            shape,
            rng: StdRng::seed_from_u64(seed),
            wire_free: Duration::ZERO,
            last_delivery: Duration::ZERO,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &LinkShape {
        &self.shape
    }

    /// Decides the fate of a datagram of `bytes` bytes arriving at `now` (since the relay started; calls must
    /// come with non-decreasing `now`).
    pub fn admit(&mut self, now: Duration, bytes: usize) -> Verdict {
        if self.shape.cut_at(now) {
            return Verdict::Drop(Drop::Cut);
        }
        if self.shape.loss > 0.0 && self.rng.gen_bool(self.shape.loss) {
            return Verdict::Drop(Drop::Loss);
        }
        let sent = match self.shape.bandwidth {
            None => now,
            Some(bps) => {
                let start = self.wire_free.max(now);
                // Bytes still waiting ahead of this datagram.
                let backlog = (start - now).as_secs_f64() * bps as f64 / 8.0;
                if backlog + bytes as f64 > self.shape.queue_bytes as f64 {
                    return Verdict::Drop(Drop::QueueFull);
                }
                let serialize = Duration::from_secs_f64(bytes as f64 * 8.0 / bps as f64);
                self.wire_free = start + serialize;
                self.wire_free
            }
        };
        let mut at = sent + self.shape.delay;
        if !self.shape.jitter.is_zero() {
            let j = self.shape.jitter.as_secs_f64();
            let offset = self.rng.gen_range(-j..=j);
            at = Duration::from_secs_f64((at.as_secs_f64() + offset).max(sent.as_secs_f64()));
        }
        at = at.max(self.last_delivery);
        self.last_delivery = at;
        Verdict::Deliver(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delay_is_added_to_every_datagram() {
        let mut link = Link::new(
            LinkShape {
                delay: ms(10),
                ..LinkShape::default()
            },
            1,
        );
        assert_eq!(link.admit(ms(0), 1200), Verdict::Deliver(ms(10)));
        assert_eq!(link.admit(ms(5), 1200), Verdict::Deliver(ms(15)));
        assert_eq!(link.admit(ms(100), 1), Verdict::Deliver(ms(110)));
    }

    #[test]
    fn loss_rate_is_roughly_right_and_reproducible() {
        let shape = LinkShape {
            loss: 0.01,
            ..LinkShape::default()
        };
        let count = |seed| {
            let mut link = Link::new(shape.clone(), seed);
            (0..100_000)
                .filter(|i| link.admit(ms(*i), 1200) == Verdict::Drop(Drop::Loss))
                .count()
        };
        let lost = count(7);
        // 1,000 expected; the standard deviation is about 31.
        assert!((850..=1150).contains(&lost), "{lost} of 100,000 lost");
        assert_eq!(lost, count(7), "the same seed, the same losses");
        assert_ne!(lost, count(8), "another seed, other losses");
    }

    #[test]
    fn a_cut_drops_then_the_link_resumes() {
        let shape = LinkShape {
            delay: ms(1),
            cuts: vec![Cut {
                at: ms(2000),
                length: Some(ms(3000)),
            }],
            ..LinkShape::default()
        };
        let mut link = Link::new(shape, 1);
        assert_eq!(link.admit(ms(1999), 10), Verdict::Deliver(ms(2000)));
        assert_eq!(link.admit(ms(2000), 10), Verdict::Drop(Drop::Cut));
        assert_eq!(link.admit(ms(4999), 10), Verdict::Drop(Drop::Cut));
        assert_eq!(link.admit(ms(5000), 10), Verdict::Deliver(ms(5001)));
        // In flight when the cut started: lost at delivery.
        assert!(link.shape().cut_at(ms(2000)) && !link.shape().cut_at(ms(1999)));
    }

    #[test]
    fn a_cut_without_an_end_lasts_for_good() {
        let cut = Cut {
            at: ms(2000),
            length: None,
        };
        assert!(!cut.covers(ms(1999)));
        assert!(cut.covers(ms(2000)) && cut.covers(Duration::from_secs(1_000_000)));
    }

    #[test]
    fn bandwidth_limits_throughput_and_a_full_queue_drops() {
        // 8 Mbit/s = 1 byte per microsecond: a 1,000-byte datagram takes 1 ms on the wire.
        let shape = LinkShape {
            bandwidth: Some(8_000_000),
            queue_bytes: 100_000,
            ..LinkShape::default()
        };
        let mut link = Link::new(shape, 1);
        // 200 datagrams at once: the first 100 fit the queue and leave 1 ms apart, the rest are dropped.
        let verdicts: Vec<_> = (0..200).map(|_| link.admit(ms(0), 1000)).collect();
        for (i, v) in verdicts.iter().enumerate().take(100) {
            assert_eq!(*v, Verdict::Deliver(ms(i as u64 + 1)), "datagram {i}");
        }
        assert!(verdicts[100..]
            .iter()
            .all(|v| *v == Verdict::Drop(Drop::QueueFull)));
        // Once the queue has drained, a datagram goes through at once again.
        assert_eq!(link.admit(ms(200), 1000), Verdict::Deliver(ms(201)));
        // Throughput over a long run equals the bandwidth: 10,000 datagrams offered at twice the rate.
        let mut link = Link::new(
            LinkShape {
                bandwidth: Some(8_000_000),
                queue_bytes: 100_000,
                ..LinkShape::default()
            },
            1,
        );
        let mut delivered = 0usize;
        let mut last = Duration::ZERO;
        for i in 0..10_000u64 {
            if let Verdict::Deliver(at) = link.admit(Duration::from_micros(i * 500), 1000) {
                delivered += 1000;
                last = at;
            }
        }
        let rate = delivered as f64 / last.as_secs_f64();
        assert!(
            (0.99e6..=1.01e6).contains(&rate),
            "{rate} bytes per second through a 1e6 bytes per second link"
        );
    }

    #[test]
    fn jitter_varies_the_delay_but_never_reorders() {
        let shape = LinkShape {
            delay: ms(10),
            jitter: ms(5),
            ..LinkShape::default()
        };
        // Datagrams 20 ms apart: each gets its own delay in [5, 15] ms.
        let mut link = Link::new(shape.clone(), 3);
        let mut delays = Vec::new();
        for i in 0..1000u64 {
            let Verdict::Deliver(at) = link.admit(ms(i * 20), 100) else {
                panic!("nothing is dropped");
            };
            let d = at - ms(i * 20);
            assert!(ms(5) <= d && d <= ms(15), "delay {d:?}");
            delays.push(d);
        }
        assert!(delays.iter().any(|d| *d < ms(6)) && delays.iter().any(|d| *d > ms(14)));
        // Datagrams 0.1 ms apart: a later one never arrives before an earlier one.
        let mut link = Link::new(shape, 3);
        let mut last = Duration::ZERO;
        for i in 0..1000u64 {
            let Verdict::Deliver(at) = link.admit(Duration::from_micros(i * 100), 100) else {
                panic!("nothing is dropped");
            };
            assert!(at >= last, "datagram {i} overtook the one before");
            last = at;
        }
    }

    #[test]
    fn bad_shapes_are_refused() {
        let bad = |s: LinkShape| s.check().unwrap_err();
        assert!(bad(LinkShape {
            loss: 1.5,
            ..LinkShape::default()
        })
        .contains("loss"));
        assert!(bad(LinkShape {
            bandwidth: Some(0),
            ..LinkShape::default()
        })
        .contains("bandwidth"));
        assert!(bad(LinkShape {
            bandwidth: Some(1000),
            queue_bytes: 10,
            ..LinkShape::default()
        })
        .contains("queue"));
        assert!(LinkShape::default().check().is_ok());
    }
}
