//! Janus API requests, one per line, through the JSON request path (`vroom::api::fuzzing`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vroom::api::fuzzing::requests(data));
