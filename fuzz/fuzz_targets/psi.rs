//! libFuzzer entry point of the `psi` target; the body is [`mpc_fuzz::psi`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::psi(data));
