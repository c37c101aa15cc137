//! Valgrind's string wildcards, used by suppression `fun:`, `obj:` and
//! `src:` lines: `*` matches any run of characters (also none), `?` exactly
//! one character, and `\` makes the next character literal. Everything else
//! matches itself; the whole name must match, and a lone `\` at the end
//! matches nothing. Suppression lines without `*` or `?` are compared
//! literally, backslashes included (`is_literal`), as in Valgrind.
//!
//! The matcher is the classic greedy one with a single backtrack point (the
//! last `*`), so it runs in O(pattern × text) at worst, never exponentially.

/// True if `text` matches the wildcard `pattern`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let Some(pat) = tokens(pattern) else {
        return false;
    };
    let txt: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, text index).
    let mut star: Option<(usize, usize)> = None;
    while t < txt.len() {
        match pat.get(p) {
            Some(Token::Star) => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(Token::Any) => {
                p += 1;
                t += 1;
            }
            Some(Token::Char(c)) if *c == txt[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry.
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|tok| *tok == Token::Star)
}

/// True if `pattern` has no wildcard, so plain equality decides. As in
/// Valgrind, only `*` and `?` make a pattern: `a\\b` alone is literal.
pub(crate) fn is_literal(pattern: &str) -> bool {
    !pattern.contains(['*', '?'])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Star,
    Any,
    Char(char),
}

/// `None` for a pattern ending in a lone `\\`, which matches nothing (Valgrind).
fn tokens(pattern: &str) -> Option<Vec<Token>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::Any,
            '\\' => Token::Char(chars.next()?),
            c => Token::Char(c),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn literals_and_wildcards() {
        assert!(glob_match("main", "main"));
        assert!(!glob_match("main", "mainx"));
        assert!(!glob_match("main", "mai"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("pthread_*", "pthread_mutex_lock"));
        assert!(!glob_match("pthread_*", "xpthread_mutex_lock"));
        assert!(glob_match("*lock", "pthread_mutex_lock"));
        assert!(glob_match("*mutex*", "pthread_mutex_lock"));
        assert!(glob_match("_ZN?foo*", "_ZN3foo3barEv"));
        assert!(!glob_match("?", ""));
        assert!(glob_match("a*b*c", "aXXbYYbZZc"));
        assert!(!glob_match("a*b*c", "aXXbYYbZZ"));
        assert!(glob_match("/usr/lib*/libc.so.*", "/usr/lib64/libc.so.6"));
        assert!(glob_match("**a", "bbba"));
    }

    #[test]
    fn backslash_makes_the_next_character_literal() {
        assert!(glob_match("a\\*b", "a*b"));
        assert!(!glob_match("a\\*b", "aXb"));
        assert!(glob_match("a\\?", "a?"));
        assert!(!glob_match("a\\?", "ab"));
        assert!(!glob_match("a*\\", "ab\\"));
    }
}
