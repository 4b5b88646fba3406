//! The status line: core state, active exception, catching and breakpoints, why the
//! core stopped, and the backend. On a narrow terminal the long forms give way in
//! order of importance (the backend's details, the stop's address, its wording, the
//! exception's number) and the stop reason is cut last, so the state, the exception
//! and the backend stay on screen at 80 columns.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::super::app::App;
use super::super::snapshot::CoreView;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = app.theme;
    let s = &app.snapshot;
    let (state, why, state_style) = match &s.core {
        CoreView::Starting => ("CONNECTING", String::new(), t.status()),
        CoreView::Running => ("RUNNING", String::new(), t.running()),
        CoreView::Halted(why) => ("HALTED", why.clone(), t.halted()),
        CoreView::LockedUp => ("LOCKED UP", String::new(), t.halted()),
        CoreView::Sleeping => ("SLEEPING", String::new(), t.status()),
        CoreView::Gone(why) => ("GONE", why.clone(), t.halted()),
    };
    let (exception, exception_short) = match s.halted.as_ref().filter(|_| !s.stale) {
        Some(h) => match h.report.exception {
            Some(e) => (format!("{e} (exception {})", e.0), e.to_string()),
            None => ("thread mode".to_string(), "thread".to_string()),
        },
        None => (String::new(), String::new()),
    };
    let fields = Fields {
        state: format!(" {state} "),
        exception,
        catch: format!("│ catch {} │ breaks {} │ ", if s.catching { "on" } else { "off" }, s.user_breaks.len()),
        why,
        // The socket or address says little and takes room: never shown.
        backend: s.backend.split(" at ").next().unwrap_or(&s.backend).to_string(),
    };
    let fitted = fit(fields, usize::from(area.width), &exception_short);
    let spans = vec![
        Span::styled(fitted.state, state_style),
        Span::styled(format!(" {} ", fitted.exception), t.title()),
        Span::styled(fitted.catch, t.dim()),
        Span::raw(if fitted.why.is_empty() { String::new() } else { format!("{} │ ", fitted.why) }),
        Span::styled(fitted.backend, t.dim()),
    ];
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// The status line's texts, before styling.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fields {
    state: String,
    exception: String,
    catch: String,
    why: String,
    backend: String,
}

impl Fields {
    fn width(&self) -> usize {
        let why = if self.why.is_empty() { 0 } else { self.why.chars().count() + 3 };
        self.state.chars().count() + self.exception.chars().count() + 2 + self.catch.chars().count() + why + self.backend.chars().count()
    }
}

/// Shortens `f` until it fits `width`, least important detail first; what still does
/// not fit is the stop reason, cut with `…`.
fn fit(mut f: Fields, width: usize, exception_short: &str) -> Fields {
    let steps: [&dyn Fn(&mut Fields); 4] = [
        &|f| f.backend = short_backend(&f.backend).to_string(),
        &|f| f.why = without_address(&f.why).to_string(),
        &|f| f.why = f.why.replace("breakpoint at the entry of ", "break at ").replace("breakpoint at ", "break at "),
        &|f| f.exception = exception_short.to_string(),
    ];
    for step in steps {
        if f.width() <= width {
            return f;
        }
        step(&mut f);
    }
    let over = f.width().saturating_sub(width);
    if over > 0 && !f.why.is_empty() {
        let keep = (f.why.chars().count() + 3).saturating_sub(over + 3 + 1);
        f.why = if keep == 0 { String::new() } else { f.why.chars().take(keep).chain(['…']).collect() };
    }
    f
}

/// The backend without the server's details, e.g. "gdb-remote" for
/// "gdb-remote (QEMU gdbstub 10.0.2, -M netduinoplus2)"; the socket or address goes too.
fn short_backend(backend: &str) -> &str {
    let b = backend.split(" at ").next().unwrap_or(backend);
    b.split(" (").next().unwrap_or(b)
}

/// "breakpoint at the entry of f (0x08000220)" without " (0x08000220)".
fn without_address(why: &str) -> &str {
    match why.rfind(" (0x") {
        Some(p) if why.ends_with(')') => &why[..p],
        _ => why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Fields {
        Fields {
            state: " HALTED ".into(),
            exception: "BusFault (exception 5)".into(),
            catch: "│ catch on │ breaks 0 │ ".into(),
            why: "breakpoint at the entry of BusFault_Handler (0x08000220)".into(),
            backend: "gdb-remote (QEMU gdbstub 10.0.2, -M netduinoplus2)".into(),
        }
    }

    #[test]
    fn everything_fits_on_a_wide_terminal() {
        assert_eq!(fit(fields(), 200, "BusFault"), fields());
    }

    #[test]
    fn at_80_columns_state_exception_and_backend_stay() {
        let f = fit(fields(), 80, "BusFault");
        assert!(f.width() <= 80, "{f:?}");
        assert_eq!(f.state, " HALTED ");
        assert_eq!(f.exception, "BusFault");
        assert_eq!(f.backend, "gdb-remote");
        assert_eq!(f.why, "break at BusFault_Handler", "the stop reason fits too, shortened");
        // A little wider, the exception's number comes back first.
        assert_eq!(fit(fields(), 94, "BusFault").exception, "BusFault (exception 5)");
    }

    #[test]
    fn the_stop_reason_is_cut_last() {
        let f = fit(fields(), 60, "BusFault");
        assert!(f.width() <= 60, "{f:?}");
        assert_eq!((f.exception.as_str(), f.backend.as_str()), ("BusFault", "gdb-remote"));
        assert!(f.why.ends_with('…') || f.why.is_empty(), "{f:?}");
    }

    #[test]
    fn the_backend_loses_its_socket_and_details() {
        assert_eq!(short_backend("gdb-remote at unix:/tmp/x (QEMU)"), "gdb-remote");
        assert_eq!(short_backend("core file crash.core"), "core file crash.core");
        assert_eq!(without_address("reset, halted"), "reset, halted");
    }
}
