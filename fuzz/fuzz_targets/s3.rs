#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| api::fuzzing::s3(data));
