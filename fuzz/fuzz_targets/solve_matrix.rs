//! `--mode solve`'s matrix parser and the solver on arbitrary text: a
//! solution, a line-numbered error or a reported negative cycle — never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match egd_routing::parse_matrix(&text) {
        Ok(graph) => {
            if let Ok(solution) = egd_routing::solve(&graph) {
                let _ = egd_routing::render_yaml(&solution);
            }
        }
        Err(e) => assert!(e.line >= 1),
    }
});
