//! The model file format (papers/lockmodels.md, "The model file format"):
//! one function a line, `#` starts a comment.
//!
//! ```text
//! pthread_mutex_lock:   lock arg0 at exit if ret == 0
//! pthread_cond_wait:    cond-wait arg0 arg1 if ret == 0
//! pthread_once loud:    atomic arg0 at entry
//! synchronize_rcu atomic: acquire &rcu_gp_event at exit
//! g_thread_join:        join *(arg0 + 48) at exit
//! my_internal_helper:   quiet
//! ```
//!
//! # Invariants
//! - Every malformed line is refused with its 1-based line number and one
//!   `LineError` saying what is wrong; nothing panics on any input.
//! - A parsed model names each symbol once, has at least one effect per
//!   function unless it is `quiet` alone, and names only arguments 0 to 5.

use crate::{Effect, LockModel, ModelledFunction, Operand, RetCondition, When};

/// A model file that cannot be used: `file:line: what is wrong`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockModelError {
    #[error("{file}:{line}: {error}")]
    Syntax {
        file: String,
        line: usize,
        error: LineError,
    },
    #[error("{file}: cannot read lock model: {reason}")]
    Read { file: String, reason: String },
}

/// What is wrong with one line of a model file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("expected `SYMBOL: EFFECT; EFFECT...`, found no `:`")]
    NoColon,
    #[error("`{0}` is not a symbol name")]
    BadSymbol(String),
    #[error("unknown word `{0}` before `:`; only `loud` or `atomic` may follow the symbol")]
    UnknownFlag(String),
    #[error("empty effect: nothing after `:` or around a `;`")]
    EmptyEffect,
    #[error("`quiet` is the whole body of a function that is not `loud` (a function with effects is quiet unless marked `loud`)")]
    QuietAlone,
    #[error("unknown action `{0}`; the actions are {ACTION_NAMES}")]
    UnknownAction(String),
    #[error("`{action}` takes {expected} operand(s), found {found}")]
    OperandCount {
        action: String,
        expected: usize,
        found: usize,
    },
    #[error("bad operand `{0}`: expected argN, argN + OFFSET, *argN, *(argN + OFFSET) or &SYMBOL")]
    BadOperand(String),
    #[error("arg{0}: only the six register arguments arg0 to arg5 can be named")]
    ArgumentIndex(u64),
    #[error("`{0}` needs `at entry` or `at exit`")]
    MissingPoint(String),
    #[error("expected `at entry` or `at exit`, found `{0}`")]
    BadPoint(String),
    #[error("a condition on `ret` needs `at exit`: there is no return value at entry")]
    ConditionAtEntry,
    #[error("bad condition `{0}`: expected `ret == VALUE` or `ret != VALUE`, VALUE an integer, TRUE, FALSE or NULL")]
    BadCondition(String),
    #[error("unexpected `{0}` after the effect")]
    Trailing(String),
    #[error("unexpected character {0:?}")]
    BadCharacter(char),
    #[error("`{symbol}` is already modelled at line {first_line}")]
    Duplicate { symbol: String, first_line: usize },
}

/// The actions of the format and their operand counts (`cond-wait` is
/// expanded by the parser).
const ACTIONS: &[(&str, usize)] = &[
    ("lock", 1),
    ("trylock", 1),
    ("unlock", 1),
    ("rdlock", 1),
    ("tryrdlock", 1),
    ("wrlock", 1),
    ("trywrlock", 1),
    ("rwunlock", 1),
    ("release", 1),
    ("acquire", 1),
    ("init", 1),
    ("destroy", 1),
    ("init-or-unlock", 1),
    ("barrier-init", 2),
    ("barrier-wait", 1),
    ("join", 1),
    ("detach", 1),
    ("spawned", 1),
    ("atomic", 1),
    ("cond-wait", 2),
];

const ACTION_NAMES: &str = "lock trylock unlock rdlock tryrdlock wrlock trywrlock rwunlock \
release acquire init destroy init-or-unlock barrier-init barrier-wait join detach spawned \
atomic cond-wait";

/// One token of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Number(u64),
    Punct(&'static str),
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Word(w) => f.write_str(w),
            Token::Number(n) => write!(f, "{n}"),
            Token::Punct(p) => f.write_str(p),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')
}

/// Splits a line (comment removed) into tokens.
fn lex(text: &str) -> Result<Vec<Token>, LineError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            tokens.push(
                parsed
                    .map(Token::Number)
                    .map_err(|_| LineError::BadOperand(text.clone()))?,
            );
        } else if is_word_char(c) {
            let start = i;
            // `-` belongs to a word when a letter follows (`cond-wait`),
            // so `arg0-8` is `arg0`, `-`, `8`.
            while i < chars.len()
                && (is_word_char(chars[i])
                    || (chars[i] == '-'
                        && chars.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic())))
            {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let punct = match (two.as_str(), c) {
                ("==", _) => "==",
                ("!=", _) => "!=",
                (_, ':') => ":",
                (_, ';') => ";",
                (_, '*') => "*",
                (_, '(') => "(",
                (_, ')') => ")",
                (_, '+') => "+",
                (_, '-') => "-",
                (_, '&') => "&",
                _ => return Err(LineError::BadCharacter(c)),
            };
            i += punct.len();
            tokens.push(Token::Punct(punct));
        }
    }
    Ok(tokens)
}

fn is_symbol(word: &str) -> bool {
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'))
}

impl LockModel {
    /// Parses the model file `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<LockModel, LockModelError> {
        let mut model = LockModel {
            name: file.to_string(),
            functions: Vec::new(),
        };
        let mut lines_of: Vec<usize> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |error| LockModelError::Syntax {
                file: file.to_string(),
                line,
                error,
            };
            let code = raw.split('#').next().unwrap_or("");
            if code.trim().is_empty() {
                continue;
            }
            let function = parse_function(code).map_err(error)?;
            if let Some(i) = model
                .functions
                .iter()
                .position(|f| f.symbol == function.symbol)
            {
                return Err(error(LineError::Duplicate {
                    symbol: function.symbol,
                    first_line: lines_of[i],
                }));
            }
            lines_of.push(line);
            model.functions.push(function);
        }
        Ok(model)
    }
}

/// `SYMBOL [loud | atomic]: BODY`
fn parse_function(code: &str) -> Result<ModelledFunction, LineError> {
    let (head, body) = code.split_once(':').ok_or(LineError::NoColon)?;
    let mut words = head.split_whitespace();
    let symbol = words.next().ok_or(LineError::BadSymbol(String::new()))?;
    if !is_symbol(symbol) {
        return Err(LineError::BadSymbol(symbol.to_string()));
    }
    let (mut quiet, mut atomic) = (true, false);
    for word in words {
        match word {
            "loud" if quiet => quiet = false,
            // Its accesses are seen, as atomic ones: it is loud too.
            "atomic" if quiet => (quiet, atomic) = (false, true),
            _ => return Err(LineError::UnknownFlag(word.to_string())),
        }
    }
    let tokens = lex(body)?;
    let mut effects = Vec::new();
    let parts: Vec<&[Token]> = tokens.split(|t| *t == Token::Punct(";")).collect();
    if parts.len() == 1 && parts[0] == [Token::Word("quiet".into())] {
        if !quiet {
            return Err(LineError::QuietAlone);
        }
        return Ok(ModelledFunction {
            symbol: symbol.to_string(),
            effects,
            quiet,
            atomic,
        });
    }
    for part in parts {
        if part.is_empty() {
            return Err(LineError::EmptyEffect);
        }
        parse_effect(part, &mut effects)?;
    }
    Ok(ModelledFunction {
        symbol: symbol.to_string(),
        effects,
        quiet,
        atomic,
    })
}

/// A cursor over one effect's tokens.
struct Cursor<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }
    /// The rest of the tokens, for an error message.
    fn rest(&self) -> String {
        let rest: Vec<String> = self.tokens[self.at.min(self.tokens.len())..]
            .iter()
            .map(Token::to_string)
            .collect();
        rest.join(" ")
    }
}

/// `ACTION OPERAND... at entry|exit [if COND]`, or `cond-wait C M [if COND]`.
fn parse_effect(tokens: &[Token], effects: &mut Vec<(When, Effect)>) -> Result<(), LineError> {
    let mut c = Cursor { tokens, at: 0 };
    let action = match c.next() {
        Some(Token::Word(w)) => w,
        Some(other) => return Err(LineError::UnknownAction(other.to_string())),
        None => return Err(LineError::EmptyEffect),
    };
    let &(_, arity) = ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .ok_or_else(|| LineError::UnknownAction(action.clone()))?;
    let mut operands = Vec::new();
    while c.peek().is_some() && !c.is_word("at") && !c.is_word("if") {
        operands.push(parse_operand(&mut c)?);
    }
    if operands.len() != arity {
        return Err(LineError::OperandCount {
            action,
            expected: arity,
            found: operands.len(),
        });
    }
    if action == "cond-wait" {
        // Unlock the mutex at entry; learn the condition on a wakeup;
        // re-take the mutex at exit whatever the result, as a trylock (no
        // lock-order edge: the order was checked when it was first taken).
        let condition = if c.is_word("if") {
            c.next();
            Some(parse_condition(&mut c)?)
        } else {
            None
        };
        if c.peek().is_some() {
            return Err(LineError::Trailing(c.rest()));
        }
        let (cond, mutex) = (operands[0].clone(), operands[1].clone());
        effects.push((
            When::Entry,
            Effect::Unlock {
                lock: mutex.clone(),
            },
        ));
        let when = condition.map_or(When::Exit, When::ExitIf);
        effects.push((when, Effect::Acquire { object: cond }));
        effects.push((
            When::Exit,
            Effect::Lock {
                lock: mutex,
                trylock: true,
            },
        ));
        return Ok(());
    }
    if !c.is_word("at") {
        if c.is_word("if") {
            return Err(LineError::ConditionAtEntry);
        }
        return Err(LineError::MissingPoint(action));
    }
    c.next();
    let when = match c.next() {
        Some(Token::Word(w)) if w == "entry" => {
            if c.is_word("if") {
                return Err(LineError::ConditionAtEntry);
            }
            When::Entry
        }
        Some(Token::Word(w)) if w == "exit" => {
            if c.is_word("if") {
                c.next();
                When::ExitIf(parse_condition(&mut c)?)
            } else {
                When::Exit
            }
        }
        Some(other) => return Err(LineError::BadPoint(other.to_string())),
        None => return Err(LineError::BadPoint(String::new())),
    };
    if c.peek().is_some() {
        return Err(LineError::Trailing(c.rest()));
    }
    effects.push((when, make_effect(&action, operands)));
    Ok(())
}

fn make_effect(action: &str, mut operands: Vec<Operand>) -> Effect {
    let first = operands.remove(0);
    match action {
        "lock" => Effect::Lock {
            lock: first,
            trylock: false,
        },
        "trylock" => Effect::Lock {
            lock: first,
            trylock: true,
        },
        "unlock" => Effect::Unlock { lock: first },
        "rdlock" | "tryrdlock" | "wrlock" | "trywrlock" => Effect::RwLock {
            lock: first,
            write: action.contains("wr"),
            trylock: action.starts_with("try"),
        },
        "rwunlock" => Effect::RwUnlock { lock: first },
        "release" => Effect::Release { object: first },
        "acquire" => Effect::Acquire { object: first },
        "init" => Effect::Init { object: first },
        "destroy" => Effect::Destroy { object: first },
        "init-or-unlock" => Effect::InitOrUnlock { lock: first },
        "barrier-init" => Effect::BarrierInit {
            barrier: first,
            count: operands.remove(0),
        },
        "barrier-wait" => Effect::BarrierWait { barrier: first },
        "join" => Effect::Join { thread: first },
        "detach" => Effect::Detach { thread: first },
        "spawned" => Effect::Spawned { handle: first },
        // `ACTIONS` lists nothing else, and `parse_effect` checked it.
        _ => Effect::AtomicWord { object: first },
    }
}

/// `argN [± OFF]`, `*argN`, `*(argN ± OFF)`, `&SYMBOL`.
fn parse_operand(c: &mut Cursor) -> Result<Operand, LineError> {
    let start = c.at;
    let bad = |c: &Cursor| {
        let end = (c.at + 1).min(c.tokens.len());
        let text: Vec<String> = c.tokens[start..end].iter().map(Token::to_string).collect();
        LineError::BadOperand(text.join(" "))
    };
    match c.next() {
        Some(Token::Punct("&")) => match c.next() {
            Some(Token::Word(w)) if is_symbol(&w) => Ok(Operand::Symbol(w)),
            _ => Err(bad(c)),
        },
        Some(Token::Punct("*")) => {
            if c.peek() == Some(&Token::Punct("(")) {
                c.next();
                let index = parse_arg(c).ok_or_else(|| bad(c))??;
                let offset = parse_offset(c).ok_or_else(|| bad(c))?;
                if c.next() != Some(Token::Punct(")")) {
                    return Err(bad(c));
                }
                Ok(Operand::Deref { index, offset })
            } else {
                let index = parse_arg(c).ok_or_else(|| bad(c))??;
                Ok(Operand::Deref { index, offset: 0 })
            }
        }
        Some(Token::Word(_)) => {
            c.at -= 1;
            let index = parse_arg(c).ok_or_else(|| bad(c))??;
            let offset = parse_offset(c).ok_or_else(|| bad(c))?;
            Ok(Operand::Arg { index, offset })
        }
        _ => Err(bad(c)),
    }
}

/// `argN`: `None` if the next token is not one, `Some(Err)` for N > 5.
fn parse_arg(c: &mut Cursor) -> Option<Result<usize, LineError>> {
    let Some(Token::Word(w)) = c.peek() else {
        return None;
    };
    let n: u64 = w.strip_prefix("arg")?.parse().ok()?;
    c.next();
    Some(if n <= 5 {
        Ok(n as usize)
    } else {
        Err(LineError::ArgumentIndex(n))
    })
}

/// `[+ N | - N]`: 0 if absent, `None` if malformed.
fn parse_offset(c: &mut Cursor) -> Option<i64> {
    let sign = match c.peek() {
        Some(Token::Punct("+")) => 1,
        Some(Token::Punct("-")) => -1,
        _ => return Some(0),
    };
    c.next();
    match c.next() {
        Some(Token::Number(n)) => i64::try_from(n).ok().map(|n| sign * n),
        _ => None,
    }
}

/// `ret == VALUE` or `ret != VALUE`.
fn parse_condition(c: &mut Cursor) -> Result<RetCondition, LineError> {
    let start = c.at;
    let bad = |c: &Cursor| {
        let text: Vec<String> = c.tokens[start..].iter().map(Token::to_string).collect();
        LineError::BadCondition(text.join(" "))
    };
    if !c.is_word("ret") {
        return Err(bad(c));
    }
    c.next();
    let equal = match c.next() {
        Some(Token::Punct("==")) => true,
        Some(Token::Punct("!=")) => false,
        _ => return Err(bad(c)),
    };
    let negative = c.peek() == Some(&Token::Punct("-"));
    if negative {
        c.next();
    }
    let (value, wide) = match (c.next(), negative) {
        (Some(Token::Number(n)), false) => (n, false),
        (Some(Token::Number(n)), true) => (n.wrapping_neg(), false),
        (Some(Token::Word(w)), false) if w == "TRUE" => (1, false),
        (Some(Token::Word(w)), false) if w == "FALSE" => (0, false),
        (Some(Token::Word(w)), false) if w == "NULL" => (0, true),
        _ => return Err(bad(c)),
    };
    Ok(RetCondition { equal, value, wide })
}
