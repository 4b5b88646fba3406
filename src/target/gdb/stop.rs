//! Stop replies (`S`, `T`, `W`, `X`): why the server says the target stopped, with every
//! `key:value` pair kept (thread, swbreak, watch addresses, register values...).

/// A parsed stop reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReply {
    /// `S AA` or `T AA key:value;...`: halted with signal `AA` (5 = SIGTRAP, 2 = SIGINT).
    Signal {
        signal: u8,
        pairs: Vec<(String, String)>,
    },
    /// `W AA`: the process exited with code `AA`.
    Exited {
        code: u8,
        pairs: Vec<(String, String)>,
    },
    /// `X AA`: the process was terminated by signal `AA`.
    Terminated {
        signal: u8,
        pairs: Vec<(String, String)>,
    },
}

impl StopReply {
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let text =
            std::str::from_utf8(payload).map_err(|_| "stop reply is not text".to_string())?;
        let kind = text.chars().next().ok_or("empty stop reply")?;
        let number = text
            .get(1..3)
            .and_then(|n| u8::from_str_radix(n, 16).ok())
            .ok_or_else(|| format!("stop reply {text:?} has no two-digit number"))?;
        let rest = &text[3..];
        let pairs = match kind {
            // W and X put `;process:pid` after the number, T puts pairs right after it.
            'W' | 'X' => parse_pairs(rest.strip_prefix(';').unwrap_or(rest)),
            _ => parse_pairs(rest),
        };
        match kind {
            'S' | 'T' => Ok(StopReply::Signal {
                signal: number,
                pairs,
            }),
            'W' => Ok(StopReply::Exited {
                code: number,
                pairs,
            }),
            'X' => Ok(StopReply::Terminated {
                signal: number,
                pairs,
            }),
            _ => Err(format!("{text:?} is not a stop reply")),
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        match self {
            StopReply::Signal { pairs, .. }
            | StopReply::Exited { pairs, .. }
            | StopReply::Terminated { pairs, .. } => pairs,
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A one-line account for people, e.g. `signal 5 (SIGTRAP) thread:01`.
    pub fn describe(&self) -> String {
        let (what, pairs) = match self {
            StopReply::Signal { signal, pairs } => {
                (format!("signal {signal}{}", signal_name(*signal)), pairs)
            }
            StopReply::Exited { code, pairs } => (format!("exited with code {code}"), pairs),
            StopReply::Terminated { signal, pairs } => (
                format!("terminated by signal {signal}{}", signal_name(*signal)),
                pairs,
            ),
        };
        pairs.iter().fold(what, |s, (k, v)| format!("{s} {k}:{v}"))
    }
}

fn signal_name(signal: u8) -> &'static str {
    match signal {
        2 => " (SIGINT)",
        4 => " (SIGILL)",
        5 => " (SIGTRAP)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        10 | 7 => " (SIGBUS)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_breakpoint_and_interrupt_replies() {
        let r = StopReply::parse(b"T05thread:p01.01;").unwrap();
        assert!(matches!(r, StopReply::Signal { signal: 5, .. }));
        assert_eq!(r.get("thread"), Some("p01.01"));
        assert!(matches!(
            StopReply::parse(b"T02thread:01;").unwrap(),
            StopReply::Signal { signal: 2, .. }
        ));
        assert!(matches!(
            StopReply::parse(b"S05").unwrap(),
            StopReply::Signal { signal: 5, .. }
        ));
    }

    #[test]
    fn any_key_value_pairs_are_kept() {
        let r = StopReply::parse(b"T05swbreak:;0f:41000008;rwatch:20000000;").unwrap();
        assert_eq!(r.get("swbreak"), Some(""));
        assert_eq!(r.get("0f"), Some("41000008"));
        assert_eq!(r.get("rwatch"), Some("20000000"));
    }

    #[test]
    fn exits_and_junk() {
        assert_eq!(
            StopReply::parse(b"W00;process:1").unwrap().get("process"),
            Some("1")
        );
        assert!(matches!(
            StopReply::parse(b"X09").unwrap(),
            StopReply::Terminated { signal: 9, .. }
        ));
        assert!(StopReply::parse(b"OK").is_err());
        assert!(StopReply::parse(b"T").is_err());
        assert!(StopReply::parse(b"").is_err());
        assert!(StopReply::parse("Té5".as_bytes()).is_err());
    }
}
