//! Styles, with and without colour. Without colour (NO_COLOR, a terminal with fewer
//! than 8 colours, TERM=dumb) emphasis falls back to bold, reverse and underline, so
//! nothing the UI says depends on colour alone. Only the 16 basic ANSI colours are used.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub const COLOR: Theme = Theme { color: true };
    pub const MONO: Theme = Theme { color: false };

    /// Colour unless NO_COLOR is set (https://no-color.org) or the terminal lacks it.
    pub fn detect() -> Theme {
        let no_color = std::env::var_os("NO_COLOR");
        let term = std::env::var("TERM").ok();
        Theme::from_env(no_color.as_deref(), term.as_deref(), ratatui::crossterm::style::available_color_count())
    }

    /// [`Theme::detect`]'s decision from the values it reads: `NO_COLOR` (set and not
    /// empty: no colour), `TERM` (`dumb`: no colour) and the terminal's colour count.
    pub fn from_env(no_color: Option<&std::ffi::OsStr>, term: Option<&str>, colors: u16) -> Theme {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        let dumb = term == Some("dumb");
        Theme { color: !no_color && !dumb && colors >= 8 }
    }

    fn pick(self, color: Style, mono: Style) -> Style {
        if self.color { color } else { mono }
    }

    pub fn base(self) -> Style {
        Style::default()
    }
    pub fn title(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn border(self) -> Style {
        self.pick(Style::default().fg(Color::DarkGray), Style::default())
    }
    pub fn focus_border(self) -> Style {
        self.pick(Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD), Style::default().add_modifier(Modifier::BOLD))
    }
    pub fn selected(self) -> Style {
        self.pick(Style::default().bg(Color::Blue).fg(Color::White), Style::default().add_modifier(Modifier::REVERSED))
    }
    pub fn error(self) -> Style {
        self.pick(Style::default().fg(Color::Red).add_modifier(Modifier::BOLD), Style::default().add_modifier(Modifier::BOLD))
    }
    pub fn warning(self) -> Style {
        self.pick(Style::default().fg(Color::Yellow), Style::default().add_modifier(Modifier::BOLD))
    }
    pub fn ok(self) -> Style {
        self.pick(Style::default().fg(Color::Green), Style::default())
    }
    pub fn dim(self) -> Style {
        self.pick(Style::default().fg(Color::DarkGray), Style::default())
    }
    pub fn address(self) -> Style {
        self.pick(Style::default().fg(Color::Cyan), Style::default())
    }
    pub fn function(self) -> Style {
        self.pick(Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD), Style::default().add_modifier(Modifier::BOLD))
    }
    /// A register whose value changed since the last halt.
    pub fn changed(self) -> Style {
        self.pick(
            Style::default().fg(Color::Black).bg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }
    /// The current line in source and disassembly.
    pub fn current(self) -> Style {
        self.pick(Style::default().fg(Color::Black).bg(Color::Green), Style::default().add_modifier(Modifier::REVERSED))
    }
    pub fn key(self) -> Style {
        self.pick(Style::default().fg(Color::Black).bg(Color::Cyan), Style::default().add_modifier(Modifier::REVERSED))
    }
    pub fn status(self) -> Style {
        self.pick(Style::default().bg(Color::Blue).fg(Color::White), Style::default().add_modifier(Modifier::REVERSED))
    }
    pub fn halted(self) -> Style {
        self.pick(
            Style::default().bg(Color::Red).fg(Color::White).add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }
    pub fn running(self) -> Style {
        self.pick(
            Style::default().bg(Color::Green).fg(Color::Black).add_modifier(Modifier::BOLD),
            Style::default().add_modifier(Modifier::BOLD),
        )
    }
}
