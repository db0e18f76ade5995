//! The folded text form of the legacy exception-handling instructions.
//!
//! The test scripts of `core/legacy/` write `try` blocks folded:
//! `(try $l (result i32) (do …) (catch $e …) (catch_all …))` or
//! `(try (do …) (delegate $l))`. The `wast` crate parses the flat form
//! (`try … catch $e … end`, `try … delegate $l`) but no longer the folded
//! one, so a script is rewritten into the flat form before it is parsed:
//! `(try` becomes `try`, the `(do` and `)` around the body disappear,
//! `(catch $e …)` becomes `catch $e …`, `(delegate $l)` becomes
//! `delegate $l`, and the `)` closing the `try` becomes `end` (nothing after
//! a `delegate`). Newlines are kept, so every directive keeps its line.
//! Strings and comments are copied unchanged. This is only sound where a
//! folded `try` is an instruction of a sequence, not the operand of a
//! folded plain instruction, which is how the scripts use it.

/// What a parenthesized list being copied is.
enum List {
    /// A folded `try`; whether it ended with `delegate`.
    Try { delegated: bool },
    /// A `do`, `catch`, `catch_all` or `delegate` part of a folded `try`:
    /// its parentheses are dropped.
    Part,
    /// Anything else, copied as is.
    Other,
}

/// Rewrites the folded legacy `try` forms of `text` into the flat form.
pub fn flatten_try(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut lists: Vec<List> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with(";;") {
            let end = rest.find('\n').map_or(text.len(), |n| i + n);
            out.push_str(&text[i..end]);
            i = end;
        } else if rest.starts_with("(;") {
            let end = block_comment_end(text, i);
            out.push_str(&text[i..end]);
            i = end;
        } else if rest.starts_with('"') {
            let end = string_end(text, i);
            out.push_str(&text[i..end]);
            i = end;
        } else if let Some(after) = rest.strip_prefix('(') {
            let head_start = after.len() - after.trim_start().len();
            let head: String = after[head_start..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '(' && *c != ')')
                .collect();
            let in_try = matches!(lists.last(), Some(List::Try { .. }));
            match head.as_str() {
                "try" => {
                    lists.push(List::Try { delegated: false });
                    out.push(' ');
                    out.push_str(&after[..head_start]);
                    out.push_str("try");
                    i += 1 + head_start + head.len();
                }
                "do" if in_try => {
                    lists.push(List::Part);
                    out.push(' ');
                    out.push_str(&after[..head_start]);
                    out.push_str("  ");
                    i += 1 + head_start + head.len();
                }
                "catch" | "catch_all" | "delegate" if in_try => {
                    if head == "delegate"
                        && let Some(List::Try { delegated }) = lists.last_mut()
                    {
                        *delegated = true;
                    }
                    lists.push(List::Part);
                    out.push(' ');
                    i += 1;
                }
                _ => {
                    lists.push(List::Other);
                    out.push('(');
                    i += 1;
                }
            }
        } else if rest.starts_with(')') {
            match lists.pop() {
                Some(List::Try { delegated: false }) => out.push_str(" end "),
                Some(List::Try { delegated: true } | List::Part) => out.push(' '),
                Some(List::Other) | None => out.push(')'),
            }
            i += 1;
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The end of the block comment starting at `start` (they nest).
fn block_comment_end(text: &str, start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < text.len() {
        if text[i..].starts_with("(;") {
            depth += 1;
            i += 2;
        } else if text[i..].starts_with(";)") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    text.len()
}

/// The end of the string starting at `start` (after its closing quote).
fn string_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_try_becomes_flat() {
        let flat = flatten_try(
            "(func (try $t (result i32)\n (do (i32.const 1)) (catch $e (i32.const 2)) (catch_all (rethrow 0))))",
        );
        let words: Vec<&str> = flat.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "(func try $t (result i32) (i32.const 1) catch $e (i32.const 2) catch_all (rethrow 0) end )"
        );
        assert_eq!(flat.lines().count(), 2, "newlines are kept");
    }

    #[test]
    fn delegate_ends_the_try_and_strings_are_kept() {
        let flat = flatten_try(
            "(try (do (try (do (throw $e)) (delegate 0)))) (module quote \"(try (do))\") ;; (try",
        );
        let words: Vec<&str> = flat.split_whitespace().collect();
        assert_eq!(
            words.join(" "),
            "try try (throw $e) delegate 0 end (module quote \"(try (do))\") ;; (try"
        );
    }

    #[test]
    fn try_table_and_other_lists_are_unchanged() {
        let text = "(try_table (catch $e 0) (do))";
        assert_eq!(flatten_try(text), text);
    }
}
