//! Arbitrary bytes as a control message. Must never panic; whatever decodes must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpc_net::wire::Control;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Control::decode(data) {
        assert_eq!(Control::decode(&msg.encode()).unwrap(), msg);
    }
});
