//! Finds where each field of a RON document starts, so that a validation error found after
//! parsing can still name the line and column the user has to fix.
//!
//! ron's own errors carry positions, but the values it returns do not. This is a small
//! scanner over the same text that records the position of every value by its field path,
//! e.g. `model.layers[2].width`. It runs only on text that ron has already accepted.

use std::collections::HashMap;

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Scalar,
    Open(char),
    Close,
    Colon,
    Comma,
}

fn tokenize(text: &str) -> Vec<(Tok, Pos)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    // Advances over one character, keeping line and column right.
    let step = |i: &mut usize, line: &mut usize, col: &mut usize| {
        if chars[*i] == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, col };
        if c.is_whitespace() {
            step(&mut i, &mut line, &mut col);
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                step(&mut i, &mut line, &mut col);
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    step(&mut i, &mut line, &mut col);
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    step(&mut i, &mut line, &mut col);
                    if depth == 0 {
                        step(&mut i, &mut line, &mut col);
                        break;
                    }
                }
                step(&mut i, &mut line, &mut col);
            }
        } else if c == '"' || c == '\'' {
            step(&mut i, &mut line, &mut col);
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    step(&mut i, &mut line, &mut col);
                }
                if i < chars.len() {
                    step(&mut i, &mut line, &mut col);
                }
            }
            if i < chars.len() {
                step(&mut i, &mut line, &mut col);
            }
            out.push((Tok::Scalar, pos));
        } else if c == 'r' && matches!(chars.get(i + 1), Some('#') | Some('"')) {
            // Raw string r#"…"#.
            step(&mut i, &mut line, &mut col);
            let mut hashes = 0;
            while i < chars.len() && chars[i] == '#' {
                hashes += 1;
                step(&mut i, &mut line, &mut col);
            }
            step(&mut i, &mut line, &mut col);
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        step(&mut i, &mut line, &mut col);
                    }
                    break;
                }
                step(&mut i, &mut line, &mut col);
            }
            out.push((Tok::Scalar, pos));
        } else if c.is_alphabetic() || c == '_' {
            let mut s = String::new();
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                s.push(chars[i]);
                step(&mut i, &mut line, &mut col);
            }
            out.push((Tok::Ident(s), pos));
        } else if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '-' | '+' | '.' | '_'))
            {
                step(&mut i, &mut line, &mut col);
            }
            out.push((Tok::Scalar, pos));
        } else {
            let tok = match c {
                '(' | '[' | '{' => Tok::Open(c),
                ')' | ']' | '}' => Tok::Close,
                ':' => Tok::Colon,
                ',' => Tok::Comma,
                _ => Tok::Scalar,
            };
            step(&mut i, &mut line, &mut col);
            out.push((tok, pos));
        }
    }
    out
}

struct Walker {
    toks: Vec<(Tok, Pos)>,
    i: usize,
    found: HashMap<String, Pos>,
}

impl Walker {
    fn peek(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.i + k).map(|t| &t.0)
    }

    /// Records the value at the cursor under `path` and walks into it.
    fn value(&mut self, path: &str, depth: usize) {
        let Some((tok, pos)) = self.toks.get(self.i).cloned() else {
            return;
        };
        self.found.entry(path.to_string()).or_insert(pos);
        if depth > 256 {
            return;
        }
        match tok {
            Tok::Ident(_) => {
                self.i += 1;
                if self.peek(0) == Some(&Tok::Open('(')) {
                    self.group(path, depth);
                }
            }
            Tok::Open(_) => self.group(path, depth),
            _ => self.i += 1,
        }
    }

    /// Walks a `( … )`, `[ … ]` or `{ … }` group whose opening token is at the cursor.
    fn group(&mut self, path: &str, depth: usize) {
        let Some((Tok::Open(open), _)) = self.toks.get(self.i).cloned() else {
            return;
        };
        self.i += 1;
        let mut index = 0;
        loop {
            match self.peek(0) {
                None => return,
                Some(Tok::Close) => {
                    self.i += 1;
                    return;
                }
                Some(Tok::Comma) => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let named =
                matches!(self.peek(0), Some(Tok::Ident(_))) && self.peek(1) == Some(&Tok::Colon);
            if open == '(' && named {
                let Some((Tok::Ident(key), key_pos)) = self.toks.get(self.i).cloned() else {
                    return;
                };
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                self.found.entry(format!("{child}#key")).or_insert(key_pos);
                self.i += 2;
                self.value(&child, depth + 1);
            } else if open == '{' {
                // Map entry: key, colon, value; map keys are not addressed by path.
                let key_path = format!("{path}{{}}");
                self.value(&key_path, depth + 1);
                if self.peek(0) == Some(&Tok::Colon) {
                    self.i += 1;
                }
                self.value(&key_path, depth + 1);
            } else if open == '(' && index == 0 && self.is_transparent_wrapper(path) {
                // `Some(x)`: the payload stands for the field itself.
                self.value(path, depth + 1);
            } else {
                let child = format!("{path}[{index}]");
                self.value(&child, depth + 1);
            }
            index += 1;
        }
    }

    fn is_transparent_wrapper(&self, _path: &str) -> bool {
        // The identifier before the group is two tokens back from the first element.
        matches!(
            self.i.checked_sub(2).and_then(|k| self.toks.get(k)),
            Some((Tok::Ident(name), _)) if name == "Some"
        )
    }
}

/// Maps every field path in `text` to the position of its value. A path `p#key` holds
/// the position of the field's name, for "unknown field" style errors.
pub fn field_positions(text: &str) -> HashMap<String, Pos> {
    let mut w = Walker {
        toks: tokenize(text),
        i: 0,
        found: HashMap::new(),
    };
    w.value("", 0);
    w.found
}

/// The position of `path`, or of its nearest ancestor that is present in the text.
pub fn locate(positions: &HashMap<String, Pos>, path: &str) -> Option<Pos> {
    let mut p = path.to_string();
    loop {
        if let Some(pos) = positions.get(&p) {
            return Some(*pos);
        }
        let cut = p.rfind(['.', '['])?;
        p.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"// a comment (with: parens)
(
    version: 1,
    name: "a (b): c",
    model: (
        latent: 4,
        layers: [
            (name: "fc", width: 32, bits: 4),
            (name: "out", width: 1, bits: 1.58),
        ],
    ),
    /* block /* nested */ comment */
    board: (kind: "sim", port: Some("/dev/ttyUSB0"), baud: 115200),
)
"#;

    #[test]
    fn finds_nested_fields() {
        let m = field_positions(DOC);
        assert_eq!(m["version"], Pos { line: 3, col: 14 });
        assert_eq!(m["name"], Pos { line: 4, col: 11 });
        assert_eq!(m["model.latent"], Pos { line: 6, col: 17 });
        assert_eq!(m["model.layers[1].width"], Pos { line: 9, col: 34 });
        assert_eq!(m["model.layers[1].bits"], Pos { line: 9, col: 43 });
        assert_eq!(m["board.baud"], Pos { line: 13, col: 60 });
        assert_eq!(m["board.port"], Pos { line: 13, col: 32 });
        assert_eq!(m["board#key"], Pos { line: 13, col: 5 });
    }

    #[test]
    fn falls_back_to_the_nearest_ancestor() {
        let m = field_positions(DOC);
        assert_eq!(
            locate(&m, "model.layers[1].missing"),
            Some(Pos { line: 9, col: 13 })
        );
        assert_eq!(locate(&m, "nothing.here"), None);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for t in [
            "",
            "(",
            ")))",
            "(a:",
            "r#\"x",
            "\"unterminated",
            "/* open",
            "[(,,:)]",
        ] {
            let _ = field_positions(t);
        }
    }
}
