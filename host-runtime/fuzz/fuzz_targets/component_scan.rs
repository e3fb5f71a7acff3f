//! The pre-scan on arbitrary bytes: never a panic, and what it passes stays within the
//! limits it was given (the default ones and a small set the fuzzer can reach).
#![no_main]

use convoy_host_runtime::scan::{COMPONENT_LIMITS, ComponentLimits, scan};
use libfuzzer_sys::fuzz_target;

const SMALL: ComponentLimits = ComponentLimits {
    bytes: 4096,
    functions: 4,
    core_instances: 2,
    memories: 1,
    tables: 1,
    data_bytes: 64,
    nesting: 3,
};

fuzz_target!(|data: &[u8]| {
    for limits in [COMPONENT_LIMITS, SMALL] {
        if let Ok(c) = scan(data, &limits) {
            assert!(c.bytes <= limits.bytes);
            assert!(c.functions <= limits.functions);
            assert!(c.core_instances <= limits.core_instances);
            assert!(c.memories <= limits.memories);
            assert!(c.tables <= limits.tables);
            assert!(c.data_bytes <= limits.data_bytes);
            assert!(c.nesting <= limits.nesting);
        }
    }
});
