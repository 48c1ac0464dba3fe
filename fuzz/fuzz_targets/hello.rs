//! libFuzzer entry point of the `hello` target; the body is [`mpc_fuzz::hello`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::hello(data));
