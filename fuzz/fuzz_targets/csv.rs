//! libFuzzer entry point of the `csv` target; the body is [`mpc_fuzz::csv`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::csv(data));
