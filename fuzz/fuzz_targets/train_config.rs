//! libFuzzer entry point of the `train_config` target; the body is [`mpc_fuzz::train_config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mpc_fuzz::train_config(data));
