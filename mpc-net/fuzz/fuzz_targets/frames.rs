//! Arbitrary bytes as a data stream: header, then frames. Must never panic, and never allocate more than
//! the frame maximum for one frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpc_net::wire::{read_frame, read_stream_header};

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let mut r = data;
        if let Ok(Some(_channel)) = read_stream_header(&mut r).await {
            while let Ok(Some(frame)) = read_frame(&mut r, 1 << 16).await {
                assert!(frame.len() <= 1 << 16);
            }
        }
    });
});
