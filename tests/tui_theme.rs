//! Colours degrade: `Theme::detect` reads `NO_COLOR` (https://no-color.org: set and
//! not empty means no colour) and `TERM=dumb`. This binary holds one test on purpose:
//! it changes the process environment, which no other thread may read meanwhile.

use isrscope::tui::Theme;

fn detect_with(no_color: Option<&str>, term: &str) -> Theme {
    // SAFETY: the only test in this binary, so no other thread reads the environment.
    unsafe {
        std::env::remove_var("COLORTERM");
        std::env::set_var("TERM", term);
        match no_color {
            Some(v) => std::env::set_var("NO_COLOR", v),
            None => std::env::remove_var("NO_COLOR"),
        }
    }
    Theme::detect()
}

#[test]
fn detect_honours_no_color_and_a_dumb_terminal() {
    assert_eq!(detect_with(None, "xterm-256color"), Theme::COLOR, "a colour terminal");
    assert_eq!(detect_with(Some("1"), "xterm-256color"), Theme::MONO, "NO_COLOR=1");
    assert_eq!(detect_with(Some("0"), "xterm-256color"), Theme::MONO, "NO_COLOR with any value");
    assert_eq!(detect_with(Some(""), "xterm-256color"), Theme::COLOR, "an empty NO_COLOR is ignored");
    assert_eq!(detect_with(None, "dumb"), Theme::MONO, "TERM=dumb");
    // The same decision from plain values, including a terminal with too few colours.
    assert_eq!(Theme::from_env(None, Some("xterm"), 8), Theme::COLOR);
    assert_eq!(Theme::from_env(None, Some("vt52"), 2), Theme::MONO);
    assert_eq!(Theme::from_env(Some("1".as_ref()), Some("xterm"), 256), Theme::MONO);
}
