//! The GDB remote serial protocol's byte-level encoding, with no I/O: packet framing and
//! checksums, `}` escapes, run-length decoding, hex helpers, and binary escaping for `X`.
//!
//! Everything here works on plain bytes so the rules can be tested exhaustively; the
//! connection (`conn.rs`) feeds it what arrives on the socket.

/// The checksum of a payload: the sum of its bytes modulo 256.
pub fn checksum(payload: &[u8]) -> u8 {
    payload.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}

/// Frames `payload` as `$payload#xx`. The payload must already be escaped where the
/// command needs it (only `X` carries binary data; see [`escape_binary`]).
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.push(b'$');
    out.extend_from_slice(payload);
    out.push(b'#');
    out.extend_from_slice(format!("{:02x}", checksum(payload)).as_bytes());
    out
}

/// Escapes binary data for an `X` packet: `#`, `$`, `}` and `*` become `}` followed by
/// the byte XOR 0x20.
pub fn escape_binary(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    for &b in data {
        if matches!(b, b'#' | b'$' | b'}' | b'*') {
            out.push(b'}');
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
    }
    out
}

/// Why a received payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// `*` with no preceding character to repeat.
    RunWithoutCharacter,
    /// `*` at the end of the payload with no count.
    TruncatedRun,
    /// A run count outside the protocol's range (29..=126 encodes 3..=100 repeats).
    BadRunCount(u8),
    /// `}` at the end of the payload.
    TruncatedEscape,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::RunWithoutCharacter => {
                f.write_str("run-length marker '*' with nothing to repeat")
            }
            DecodeError::TruncatedRun => {
                f.write_str("run-length marker '*' at the end of the packet")
            }
            DecodeError::BadRunCount(c) => write!(f, "invalid run-length count byte {c:#04x}"),
            DecodeError::TruncatedEscape => f.write_str("escape '}' at the end of the packet"),
        }
    }
}

/// Decodes a received payload (between `$` and `#`): expands run-length encoding
/// (`X*n` repeats `X` n-29 more times) and undoes `}` escapes.
pub fn decode(raw: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'}' => {
                let b = *raw.get(i + 1).ok_or(DecodeError::TruncatedEscape)?;
                out.push(b ^ 0x20);
                i += 2;
            }
            b'*' => {
                let last = *out.last().ok_or(DecodeError::RunWithoutCharacter)?;
                let count = *raw.get(i + 1).ok_or(DecodeError::TruncatedRun)?;
                if !(29..=126).contains(&count) {
                    return Err(DecodeError::BadRunCount(count));
                }
                out.extend(std::iter::repeat_n(last, usize::from(count - 29)));
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Lower-case hex of `data`.
pub fn to_hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Bytes from hex; `None` if the length is odd or a character is not a hex digit.
pub fn from_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// A whole-payload `E NN` error reply (QEMU, OpenOCD) or `E.message` (newer stubs).
pub fn error_code(payload: &[u8]) -> Option<String> {
    match payload {
        [b'E', rest @ ..] if rest.len() == 2 && rest.iter().all(u8::is_ascii_hexdigit) => {
            Some(format!("E{}", String::from_utf8_lossy(rest)))
        }
        [b'E', b'.', msg @ ..] => Some(String::from_utf8_lossy(msg).into_owned()),
        _ => None,
    }
}

/// Whether `payload` is an `O` console-output packet (`O` + hex, possibly empty), as
/// opposed to `OK`.
pub fn console_output(payload: &[u8]) -> Option<Vec<u8>> {
    match payload {
        [b'O', hex @ ..] => from_hex(hex),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_the_modulo_256_checksum() {
        assert_eq!(frame(b"g"), b"$g#67");
        assert_eq!(frame(b"?"), b"$?#3f");
        assert_eq!(frame(b"vMustReplyEmpty"), b"$vMustReplyEmpty#3a");
    }

    #[test]
    fn run_length_expands_to_count_minus_29() {
        // "0* " is '0' followed by ' ' (32): 3 more zeros.
        assert_eq!(decode(b"0* ").unwrap(), b"0000");
        assert_eq!(decode(b"ab*\"c").unwrap(), b"abbbbbbc");
        assert_eq!(decode(b"*!"), Err(DecodeError::RunWithoutCharacter));
        assert_eq!(decode(b"a*"), Err(DecodeError::TruncatedRun));
        assert_eq!(decode(b"a*\x10"), Err(DecodeError::BadRunCount(0x10)));
    }

    #[test]
    fn escapes_round_trip() {
        let data = [0u8, b'#', b'$', b'}', b'*', 0xff, 0x7d ^ 0x20];
        assert_eq!(decode(&escape_binary(&data)).unwrap(), data);
        assert_eq!(decode(b"}"), Err(DecodeError::TruncatedEscape));
    }

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        assert_eq!(from_hex(b"00ff10").unwrap(), vec![0, 0xff, 0x10]);
        assert_eq!(to_hex(&[0xde, 0xad]), "dead");
        assert!(from_hex(b"0").is_none());
        assert!(from_hex(b"zz").is_none());
    }

    #[test]
    fn tells_errors_and_console_output_from_ok() {
        assert_eq!(error_code(b"E14").as_deref(), Some("E14"));
        assert_eq!(
            error_code(b"E.no such thing").as_deref(),
            Some("no such thing")
        );
        assert_eq!(error_code(b"EE"), None);
        assert_eq!(console_output(b"OK"), None);
        assert_eq!(console_output(b"O6869").unwrap(), b"hi");
        assert_eq!(console_output(b"O").unwrap(), b"");
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode(&raw);
        }

        #[test]
        fn binary_escape_round_trips(data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            proptest::prop_assert_eq!(decode(&escape_binary(&data)).unwrap(), data);
        }
    }
}
