//! A bounded inbox: the queue of one `(peer, channel)`, bounded in messages and in bytes.
//!
//! The stream reader [`reserve`](Inbox::reserve)s room for a frame after its length prefix and before its
//! body: it waits while the inbox holds `messages` messages or has no room for the frame's bytes, and while
//! it waits it stops reading the QUIC stream, so QUIC flow control stops the sender. A frame takes
//! `min(len, bytes)` of the byte budget, so a frame larger than the budget (up to the frame limit) is taken
//! only when the inbox is empty. The memory a peer's stream can hold in its inbox is thus at most
//! `max(bytes, max_frame)`, the frame being read included; what is queued is still delivered in order.

use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// What an inbox holds: messages queued or being read, and their bytes (a frame larger than the byte
/// budget counts as the whole budget).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboxUsage {
    /// Messages queued or reserved.
    pub messages: usize,
    /// Bytes queued or reserved.
    pub bytes: usize,
}

/// A queued message; its permit returns its bytes to the budget when the message is taken.
pub(crate) struct Entry {
    pub msg: Vec<u8>,
    _bytes: OwnedSemaphorePermit,
}

/// Room for one message, reserved before its bytes are read.
pub(crate) struct Room {
    slot: mpsc::OwnedPermit<Entry>,
    bytes: OwnedSemaphorePermit,
}

impl Room {
    /// Queues `msg` in the room reserved for it.
    pub fn deliver(self, msg: Vec<u8>) {
        self.slot.send(Entry {
            msg,
            _bytes: self.bytes,
        });
    }
}

pub(crate) struct Inbox {
    tx: mpsc::Sender<Entry>,
    pub rx: tokio::sync::Mutex<mpsc::Receiver<Entry>>,
    budget: Arc<Semaphore>,
    messages: usize,
    bytes: u32,
}

impl Inbox {
    /// An inbox of at most `messages` messages (at least 1) and `bytes` bytes (at least 1, at most
    /// `u32::MAX`; larger values are cut).
    pub fn new(messages: usize, bytes: usize) -> Inbox {
        let messages = messages.max(1);
        let bytes = u32::try_from(bytes.max(1)).unwrap_or(u32::MAX);
        let (tx, rx) = mpsc::channel(messages);
        Inbox {
            tx,
            rx: tokio::sync::Mutex::new(rx),
            budget: Arc::new(Semaphore::new(bytes as usize)),
            messages,
            bytes,
        }
    }

    /// Waits for room for a message of `len` bytes. `None` only if the inbox is gone.
    pub async fn reserve(&self, len: usize) -> Option<Room> {
        let slot = self.tx.clone().reserve_owned().await.ok()?;
        let want = u32::try_from(len).unwrap_or(u32::MAX).min(self.bytes);
        let bytes = self.budget.clone().acquire_many_owned(want).await.ok()?;
        Some(Room { slot, bytes })
    }

    /// What the inbox holds now.
    pub fn usage(&self) -> InboxUsage {
        InboxUsage {
            messages: self.messages - self.tx.capacity(),
            bytes: self.bytes as usize - self.budget.available_permits(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    async fn fits(inbox: &Inbox, len: usize) -> bool {
        tokio::time::timeout(Duration::from_millis(20), inbox.reserve(len))
            .await
            .map(|room| room.expect("inbox").deliver(vec![7; len]))
            .is_ok()
    }

    #[test]
    fn the_byte_budget_stops_the_reader_until_messages_are_taken() {
        block_on(async {
            let inbox = Inbox::new(100, 1000);
            assert!(fits(&inbox, 600).await);
            assert!(fits(&inbox, 400).await);
            assert!(!fits(&inbox, 1).await, "room beyond the byte budget");
            assert_eq!(
                inbox.usage(),
                InboxUsage {
                    messages: 2,
                    bytes: 1000
                }
            );
            let first = inbox.rx.lock().await.recv().await.expect("a message");
            assert_eq!(first.msg, vec![7; 600]);
            drop(first);
            assert!(fits(&inbox, 600).await);
            assert!(inbox.usage().bytes <= 1000);
        })
    }

    #[test]
    fn the_message_count_is_bounded_even_for_empty_messages() {
        block_on(async {
            let inbox = Inbox::new(3, 1 << 20);
            for _ in 0..3 {
                assert!(fits(&inbox, 0).await);
            }
            assert!(!fits(&inbox, 0).await, "a fourth message was queued");
            assert_eq!(inbox.usage().messages, 3);
        })
    }

    #[test]
    fn a_frame_larger_than_the_budget_waits_for_an_empty_inbox() {
        block_on(async {
            let inbox = Inbox::new(10, 100);
            assert!(fits(&inbox, 1).await);
            assert!(!fits(&inbox, 5000).await, "a large frame beside another");
            drop(inbox.rx.lock().await.recv().await);
            assert!(fits(&inbox, 5000).await);
            assert_eq!(inbox.usage().bytes, 100);
            assert!(!fits(&inbox, 1).await, "a frame beside a large one");
        })
    }
}
