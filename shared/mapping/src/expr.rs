//! jq expressions, compiled once with `jaq` and run against JSON values. Errors name the
//! position in the expression.

use std::fmt;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Native, RcIter};
use jaq_json::Val;
use serde_json::Value;

/// The global variables every expression can use, in this order.
const GLOBALS: [&str; 2] = ["$settings", "$tables"];

/// A compiled expression.
pub struct Expr {
    source: String,
    filter: jaq_core::Filter<Native<Val>>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.source).finish()
    }
}

/// Why an expression does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct ExprError {
    /// What is wrong.
    pub message: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column (in characters) of the problem.
    pub column: usize,
}

fn position(code: &str, part: &str) -> (usize, usize) {
    let offset = jaq_core::load::span(code, part).start.min(code.len());
    let before = &code[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Expr {
    /// Compiles a jq expression.
    pub fn compile(code: &str) -> Result<Self, ExprError> {
        let loader = Loader::new(jaq_std::defs().chain(jaq_json::defs()));
        let arena = Arena::default();
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errors| {
                let (message, part) = errors
                    .into_iter()
                    .find_map(|(_, e)| match e {
                        jaq_core::load::Error::Parse(list) => {
                            list.into_iter().next().map(|(expected, found)| {
                                (format!("expected {}", expected.as_str()), found)
                            })
                        }
                        jaq_core::load::Error::Lex(list) => {
                            list.into_iter().next().map(|(expected, found)| {
                                (format!("expected {}", expected.as_str()), found)
                            })
                        }
                        jaq_core::load::Error::Io(list) => {
                            list.into_iter().next().map(|(_, msg)| (msg, ""))
                        }
                    })
                    .unwrap_or_else(|| ("cannot be parsed".to_owned(), ""));
                let (line, column) = if part.is_empty() {
                    end_position(code)
                } else {
                    position(code, part)
                };
                let message = if part.is_empty() {
                    format!("{message}, found the end of the expression")
                } else {
                    format!(
                        "{message}, found `{}`",
                        part.chars().take(20).collect::<String>()
                    )
                };
                ExprError {
                    message,
                    line,
                    column,
                }
            })?;
        let filter = Compiler::default()
            .with_funs(jaq_std::funs().chain(jaq_json::funs()))
            .with_global_vars(GLOBALS)
            .compile(modules)
            .map_err(|errors| {
                let (name, undefined) = errors
                    .into_iter()
                    .flat_map(|(_, list)| list)
                    .next()
                    .map_or(("", String::new()), |(name, kind)| {
                        (name, format!("{kind:?}"))
                    });
                let (line, column) = position(code, name);
                ExprError {
                    message: format!("unknown `{name}` ({})", undefined.to_lowercase()),
                    line,
                    column,
                }
            })?;
        Ok(Self {
            source: code.to_owned(),
            filter,
        })
    }

    /// The expression's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Runs the expression on `input`. No output is `null`; more than one output, or a
    /// runtime error, is an error message.
    pub fn eval(&self, input: &Value, settings: &Value, tables: &Value) -> Result<Value, String> {
        let inputs = RcIter::new(core::iter::empty());
        let ctx = Ctx::new(
            [Val::from(settings.clone()), Val::from(tables.clone())],
            &inputs,
        );
        let mut out = self.filter.run((ctx, Val::from(input.clone())));
        let first = match out.next() {
            None => return Ok(Value::Null),
            Some(Ok(v)) => Value::from(v),
            Some(Err(e)) => return Err(e.to_string()),
        };
        match out.next() {
            None => Ok(first),
            Some(Ok(_)) => Err(
                "the expression yields more than one value (wrap it in [ ] to make a list)".into(),
            ),
            Some(Err(e)) => Err(e.to_string()),
        }
    }
}

fn end_position(code: &str) -> (usize, usize) {
    let line = code.matches('\n').count() + 1;
    let column = code.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[allow(clippy::needless_pass_by_value)]
    fn run(code: &str, input: Value) -> Result<Value, String> {
        Expr::compile(code).unwrap().eval(
            &input,
            &json!({"currency": "EUR"}),
            &json!({"country": {"France": "FR"}}),
        )
    }

    #[test]
    fn expressions_see_the_record_settings_and_tables() {
        assert_eq!(
            run(
                ".firstName + \" \" + .lastName",
                json!({"firstName": "Zoë", "lastName": "Ørsted"})
            ),
            Ok(json!("Zoë Ørsted"))
        );
        assert_eq!(run("$settings.currency", json!({})), Ok(json!("EUR")));
        assert_eq!(
            run("$tables.country[.c] // \"??\"", json!({"c": "France"})),
            Ok(json!("FR"))
        );
        assert_eq!(
            run("$tables.country[.c] // \"??\"", json!({"c": "Mars"})),
            Ok(json!("??"))
        );
        assert_eq!(run(".missing", json!({})), Ok(Value::Null));
        assert_eq!(run("empty", json!({})), Ok(Value::Null));
        assert_eq!(
            run(
                "[.a[] | ascii_upcase] | join(\"-\")",
                json!({"a": ["x", "y"]})
            ),
            Ok(json!("X-Y"))
        );
        assert_eq!(
            run("if .n > 2 then \"big\" else \"small\" end", json!({"n": 3})),
            Ok(json!("big"))
        );
    }

    #[test]
    fn several_outputs_or_runtime_errors_are_errors() {
        assert!(
            run(".a[]", json!({"a": [1, 2]}))
                .unwrap_err()
                .contains("more than one value")
        );
        assert!(run(".a + 1", json!({"a": "x"})).is_err());
        assert!(
            run("error(\"custom\")", json!({}))
                .unwrap_err()
                .contains("custom")
        );
    }

    #[test]
    fn compile_errors_name_the_position() {
        let e = Expr::compile(".firstName +").unwrap_err();
        assert_eq!((e.line, e.column), (1, 13), "{e}");
        let e = Expr::compile(".a |\n  frobnicate(1)").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3), "{e}");
        assert!(e.message.contains("frobnicate"), "{e}");
        let e = Expr::compile("$nope").unwrap_err();
        assert!(e.message.contains("nope"), "{e}");
        let e = Expr::compile(".a ) .b").unwrap_err();
        assert_eq!((e.line, e.column), (1, 4), "{e}");
    }
}
