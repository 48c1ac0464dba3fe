//! libFuzzer entry point of the `control` target; the body is [`mpc_fuzz::control`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::control(data));
