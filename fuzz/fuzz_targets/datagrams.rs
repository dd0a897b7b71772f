//! Datagrams through the shard's demultiplexer into real legs (`vroom::media::fuzzing::datagrams`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vroom::media::fuzzing::datagrams(data));
