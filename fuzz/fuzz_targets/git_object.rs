#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ndaguard::fuzzing::git_object(data));
