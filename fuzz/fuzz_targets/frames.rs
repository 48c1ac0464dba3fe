//! libFuzzer entry point of the `frames` target; the body is [`mpc_fuzz::frames`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::frames(data));
