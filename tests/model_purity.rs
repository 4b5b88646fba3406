//! The model layer's invariant (docs/ARCHITECTURE.md): plain numbers in, typed results
//! out, no I/O. Checked on the source itself, so a file, socket, clock, environment or
//! terminal access, or a dependency on a higher layer, fails here in review.

use std::path::Path;

const FORBIDDEN: &[(&str, &str)] = &[
    ("std::fs", "files"),
    ("std::net", "sockets"),
    ("std::io", "I/O"),
    ("std::process", "processes"),
    ("std::time", "clocks"),
    ("std::env", "the environment"),
    ("std::thread", "threads"),
    ("println!", "printing"),
    ("eprintln!", "printing"),
    ("print!(", "printing"),
    ("eprint!(", "printing"),
    ("dbg!(", "printing"),
    ("crate::target", "the target layer"),
    ("crate::debuginfo", "the ELF layer"),
    ("crate::unwind", "the unwinder"),
    ("crate::report", "the report"),
    ("crate::cli", "the command line"),
    ("crate::tui", "the terminal UI"),
];

#[test]
fn the_model_does_no_io_and_knows_no_higher_layer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model");
    let mut files = 0;
    let mut offences = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (needle, what) in FORBIDDEN {
                if code.contains(needle) {
                    offences.push(format!("{}:{}: {what} ({needle})", path.display(), n + 1));
                }
            }
        }
    }
    assert!(files >= 10, "src/model has {files} files");
    assert!(offences.is_empty(), "the model must stay pure:\n{}", offences.join("\n"));
}
