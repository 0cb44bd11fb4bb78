//! `COPY --chmod` / `ADD --chmod`: an octal mode (`755`), or a symbolic one as chmod(1)
//! writes it (`u+x`, `go-w`, `a=rX,u+w`): comma-separated clauses of who (`ugoa`, none
//! meaning all, with no umask), an operator (`+ - =`) and permissions (`rwxXst`, or one
//! of `ugo` to copy that class's bits). Symbolic modes apply to each file's own mode.

use crate::Error;

/// A parsed `--chmod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chmod {
    /// The mode bits themselves.
    Octal(u32),
    /// Clauses applied in order to each file's mode.
    Symbolic(Vec<Clause>),
}

/// One `who op perms` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    who: u32,
    op: u8,
    perms: String,
}

const U: u32 = 0o4700;
const G: u32 = 0o2070;
const O: u32 = 0o1007;

impl Chmod {
    /// Parse `--chmod`'s value (empty: none).
    pub fn parse(s: &str) -> Result<Option<Chmod>, Error> {
        let bad = || Error::Invalid(format!("invalid chmod parameter: {s:?}"));
        if s.is_empty() {
            return Ok(None);
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return u32::from_str_radix(s, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .map(|m| Some(Chmod::Octal(m)))
                .ok_or_else(bad);
        }
        let mut clauses = Vec::new();
        for part in s.split(',') {
            let op_at = part.find(['+', '-', '=']).ok_or_else(bad)?;
            let (who_s, rest) = part.split_at(op_at);
            let mut who = 0;
            for c in who_s.chars() {
                who |= match c {
                    'u' => U,
                    'g' => G,
                    'o' => O,
                    'a' => U | G | O,
                    _ => return Err(bad()),
                };
            }
            if who == 0 {
                who = U | G | O;
            }
            // `u+x-w` is two clauses for the same who.
            let mut chars = rest.chars().peekable();
            while let Some(op) = chars.next() {
                let mut perms = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, '+' | '-' | '=') {
                        break;
                    }
                    if !"rwxXstugo".contains(c) {
                        return Err(bad());
                    }
                    perms.push(c);
                    chars.next();
                }
                if perms.len() > 1 && perms.chars().any(|c| "ugo".contains(c)) {
                    return Err(bad());
                }
                clauses.push(Clause {
                    who,
                    op: op as u8,
                    perms,
                });
            }
        }
        Ok(Some(Chmod::Symbolic(clauses)))
    }

    /// The mode a file whose mode is `mode` gets (`dir`: it is a directory).
    pub fn apply(&self, mode: u32, dir: bool) -> u32 {
        let clauses = match self {
            Chmod::Octal(m) => return *m,
            Chmod::Symbolic(c) => c,
        };
        let mut mode = mode & 0o7777;
        for c in clauses {
            let mut bits = 0;
            for p in c.perms.chars() {
                bits |= match p {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if dir || mode & 0o111 != 0 => 0o111,
                    's' => 0o6000,
                    't' => 0o1000,
                    'u' => ((mode >> 6) & 7) * 0o111,
                    'g' => ((mode >> 3) & 7) * 0o111,
                    'o' => (mode & 7) * 0o111,
                    _ => 0,
                };
            }
            let bits = bits & c.who;
            mode = match c.op {
                b'+' => mode | bits,
                b'-' => mode & !bits,
                _ => (mode & !c.who) | bits,
            };
        }
        mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ap(s: &str, mode: u32, dir: bool) -> u32 {
        Chmod::parse(s)
            .expect("parse")
            .expect("some")
            .apply(mode, dir)
    }

    #[test]
    fn octal_and_symbolic_modes_as_chmod_applies_them() {
        assert_eq!(Chmod::parse("").expect("ok"), None);
        assert_eq!(ap("755", 0o600, false), 0o755);
        assert_eq!(ap("0644", 0o777, false), 0o644);
        assert_eq!(ap("u+x", 0o644, false), 0o744);
        assert_eq!(ap("+x", 0o644, false), 0o755);
        assert_eq!(ap("a+x", 0o600, false), 0o711);
        assert_eq!(ap("go-w", 0o666, false), 0o644);
        assert_eq!(ap("u=rwx,g=rx,o=", 0o666, false), 0o750);
        assert_eq!(ap("a=rX", 0o644, false), 0o444);
        assert_eq!(ap("a=rX", 0o744, false), 0o555);
        assert_eq!(ap("a=rX", 0o700, true), 0o555);
        assert_eq!(ap("u+s", 0o755, false), 0o4755);
        assert_eq!(ap("g+s", 0o755, true), 0o2755);
        assert_eq!(ap("+t", 0o777, true), 0o1777);
        assert_eq!(ap("go=u", 0o740, false), 0o777);
        assert_eq!(ap("u+x-w", 0o644, false), 0o544);
        assert_eq!(ap("o-rwx", 0o777, false), 0o770);
        for bad in ["u+z", "q+x", "u", "8", "77777", "u+ux", "rwx"] {
            assert!(Chmod::parse(bad).is_err(), "{bad}");
        }
    }
}
