//! libFuzzer entry point of the `net_config` target; the body is [`mpc_fuzz::net_config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::net_config(data));
