//! libFuzzer entry point of the `preprocessing` target; the body is [`mpc_fuzz::preprocessing`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::preprocessing(data));
