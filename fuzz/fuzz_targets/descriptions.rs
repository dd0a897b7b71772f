//! Offers and answers into real legs (`vroom::media::fuzzing::descriptions`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vroom::media::fuzzing::descriptions(data));
