//! libFuzzer entry point of the `dealer` target; the body is [`mpc_fuzz::dealer`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::dealer(data));
