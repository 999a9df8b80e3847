//! Any text: `Config::from_toml_str` returns (never panics, never overflows
//! the stack), and an error always has a problem to show.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retry_runtime::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for prefix in ["", "retry"] {
        match Config::from_toml_str_at(text, prefix) {
            Ok(config) => {
                // Every resolved table keeps the presets around it.
                assert!(config.policy("default").is_some());
            }
            Err(err) => {
                assert!(!err.problems().is_empty());
                let shown = err.to_string();
                assert!(shown.starts_with("invalid retry config"));
            }
        }
    }
});
