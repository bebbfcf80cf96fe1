//! Derived fields: a number or money field whose value is a formula over other fields of the same
//! record, recomputed by the records engine on every write and never typed in.
//!
//! ```toml
//! [[collections.fields]]
//! name = "margin"
//! type = "money"
//! label = "Marge"
//! compute = "sale_price - purchase_price"
//! ```
//!
//! A formula is arithmetic (`+ - * /`, parentheses, unary minus) over decimal literals and the
//! names of the collection's number and money fields. Its unit is checked when the schema is read:
//! money plus or minus money (one currency), money times or divided by a number, money divided by
//! money (a number: a rate), numbers with numbers. Arithmetic is exact decimal (no binary floats);
//! money results are rounded to the cent, half away from zero, number results to the field's
//! `decimals`. A missing input or a division by zero gives no value (the field is emptied).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{CollectionDef, FieldDef, FieldType, SchemaError};

/// Longest formula accepted, in characters.
pub const MAX_FORMULA_LEN: usize = 500;

/// Fixed-point decimal: the value times 10^SCALE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Dec(i128);

const SCALE: u32 = 12;
const ONE: i128 = 10i128.pow(SCALE);

impl Dec {
    fn parse(text: &str) -> Option<Dec> {
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        // Exponents (JSON numbers like 1e-7) go through their plain decimal form.
        if text.contains(['e', 'E']) {
            let f: f64 = text.parse().ok()?;
            return Dec::parse(&format!("{}{f:.12}", if negative { "-" } else { "" }));
        }
        let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
        if units.is_empty() && fraction.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let units: i128 = if units.is_empty() { 0 } else { units.parse().ok()? };
        let kept = &fraction[..fraction.len().min(SCALE as usize)];
        let fraction: i128 = format!("{kept:0<width$}", width = SCALE as usize).parse().ok()?;
        let value = units.checked_mul(ONE)?.checked_add(fraction)?;
        Some(Dec(if negative { -value } else { value }))
    }

    fn from_cents(cents: i64) -> Dec {
        Dec(i128::from(cents) * (ONE / 100))
    }

    /// Divides and rounds half away from zero.
    fn div_round(n: i128, d: i128) -> Option<i128> {
        if d == 0 {
            return None;
        }
        let (q, r) = (n / d, n % d);
        if r.checked_mul(2)?.abs() >= d.abs() { Some(q + if (n < 0) == (d < 0) { 1 } else { -1 }) } else { Some(q) }
    }

    fn add(self, other: Dec) -> Option<Dec> {
        self.0.checked_add(other.0).map(Dec)
    }

    fn sub(self, other: Dec) -> Option<Dec> {
        self.0.checked_sub(other.0).map(Dec)
    }

    fn mul(self, other: Dec) -> Option<Dec> {
        Dec::div_round(self.0.checked_mul(other.0)?, ONE).map(Dec)
    }

    fn div(self, other: Dec) -> Option<Dec> {
        Dec::div_round(self.0.checked_mul(ONE)?, other.0).map(Dec)
    }

    /// Rounded to `places` decimals, as the integer count of 10^-places.
    fn round_to(self, places: u32) -> Option<i128> {
        Dec::div_round(self.0, 10i128.pow(SCALE - places.min(SCALE)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Literal(Dec),
    Field(String),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

/// What a formula (or a part of one) is: a plain number, or an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Number,
    Money,
}

/// A parsed formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formula {
    expr: Expr,
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: impl std::fmt::Display) -> String {
        format!("{message} at character {} of `{}`", self.at + 1, self.text)
    }

    fn skip_spaces(&mut self) {
        while self.text[self.at..].starts_with(' ') {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_spaces();
        self.text[self.at..].chars().next()
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > 32 {
            return Err(self.error("too deeply nested"));
        }
        let mut left = self.term(depth)?;
        while let Some(c @ ('+' | '-')) = self.peek() {
            self.at += 1;
            let right = self.term(depth)?;
            left = Expr::Bin(if c == '+' { BinOp::Add } else { BinOp::Sub }, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self, depth: usize) -> Result<Expr, String> {
        let mut left = self.factor(depth)?;
        while let Some(c @ ('*' | '/')) = self.peek() {
            self.at += 1;
            let right = self.factor(depth)?;
            left = Expr::Bin(if c == '*' { BinOp::Mul } else { BinOp::Div }, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self, depth: usize) -> Result<Expr, String> {
        match self.peek() {
            Some('-') => {
                self.at += 1;
                Ok(Expr::Neg(Box::new(self.factor(depth + 1)?)))
            }
            Some('(') => {
                self.at += 1;
                let inner = self.expr(depth + 1)?;
                if self.peek() != Some(')') {
                    return Err(self.error("expected `)`"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let rest = &self.text[self.at..];
                let len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
                let literal = &rest[..len];
                let value = Dec::parse(literal).ok_or_else(|| self.error(format!("`{literal}` is not a number")))?;
                self.at += len;
                Ok(Expr::Literal(value))
            }
            Some(c) if c.is_ascii_lowercase() => {
                let rest = &self.text[self.at..];
                let len = rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).unwrap_or(rest.len());
                let name = rest[..len].to_owned();
                self.at += len;
                Ok(Expr::Field(name))
            }
            Some(c) => Err(self.error(format!("unexpected `{c}`"))),
            None => Err(self.error("the formula ends too early")),
        }
    }
}

impl Formula {
    /// Parses a formula (syntax only; [`check_formulas`] checks it against its collection).
    pub fn parse(text: &str) -> Result<Formula, String> {
        if text.trim().is_empty() || text.chars().count() > MAX_FORMULA_LEN {
            return Err(format!("a formula has 1 to {MAX_FORMULA_LEN} characters"));
        }
        let mut parser = Parser { text, at: 0 };
        let expr = parser.expr(0)?;
        if parser.peek().is_some() {
            return Err(parser.error("expected an operator (`+ - * /`)"));
        }
        Ok(Formula { expr })
    }

    /// The fields the formula reads.
    pub fn inputs(&self) -> BTreeSet<String> {
        fn walk(e: &Expr, out: &mut BTreeSet<String>) {
            match e {
                Expr::Literal(_) => {}
                Expr::Field(name) => {
                    out.insert(name.clone());
                }
                Expr::Neg(inner) => walk(inner, out),
                Expr::Bin(_, l, r) => {
                    walk(l, out);
                    walk(r, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.expr, &mut out);
        out
    }

    fn unit(expr: &Expr, collection: &CollectionDef) -> Result<Unit, String> {
        Ok(match expr {
            Expr::Literal(_) => Unit::Number,
            Expr::Field(name) => match collection.field(name) {
                Some(f) if f.field_type == FieldType::Money => Unit::Money,
                Some(f) if f.field_type == FieldType::Number => Unit::Number,
                Some(f) => return Err(format!("`{name}` is a {} field; a formula reads number and money fields", f.field_type)),
                None => return Err(format!("`{name}` is not a field of this collection")),
            },
            Expr::Neg(inner) => Self::unit(inner, collection)?,
            Expr::Bin(op, l, r) => match (op, Self::unit(l, collection)?, Self::unit(r, collection)?) {
                (_, Unit::Number, Unit::Number) => Unit::Number,
                (BinOp::Add | BinOp::Sub, Unit::Money, Unit::Money) => Unit::Money,
                (BinOp::Add | BinOp::Sub, _, _) => return Err("money can only be added to or taken from money".into()),
                (BinOp::Mul, Unit::Money, Unit::Money) => return Err("money cannot be multiplied by money".into()),
                (BinOp::Mul, _, _) => Unit::Money,
                (BinOp::Div, Unit::Money, Unit::Number) => Unit::Money,
                (BinOp::Div, Unit::Money, Unit::Money) => Unit::Number,
                (BinOp::Div, Unit::Number, Unit::Money) => return Err("a number cannot be divided by money".into()),
            },
        })
    }

    fn eval(expr: &Expr, data: &Map<String, Value>, currency: &mut Option<String>) -> Result<Option<Dec>, String> {
        Ok(match expr {
            Expr::Literal(d) => Some(*d),
            Expr::Field(name) => match data.get(name) {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Dec::parse(&n.to_string()),
                Some(money @ Value::Object(_)) => {
                    let cents = money.get("amount").and_then(Value::as_i64);
                    if let Some(c) = money.get("currency").and_then(Value::as_str) {
                        match currency {
                            Some(seen) if seen != c => return Err(format!("`{name}` is in {c}, the formula's other amounts in {seen}")),
                            _ => *currency = Some(c.to_owned()),
                        }
                    }
                    cents.map(Dec::from_cents)
                }
                Some(_) => None,
            },
            Expr::Neg(inner) => Self::eval(inner, data, currency)?.map(|d| Dec(-d.0)),
            Expr::Bin(op, l, r) => {
                let (Some(a), Some(b)) = (Self::eval(l, data, currency)?, Self::eval(r, data, currency)?) else { return Ok(None) };
                match op {
                    BinOp::Add => a.add(b),
                    BinOp::Sub => a.sub(b),
                    BinOp::Mul => a.mul(b),
                    BinOp::Div => a.div(b),
                }
            }
        })
    }

    /// The value of `field` (whose formula this is) for a record holding `data`: `Null` when an
    /// input is missing or a divisor is zero; an error only for amounts in different currencies.
    pub fn value(&self, field: &FieldDef, data: &Map<String, Value>) -> Result<Value, String> {
        let mut currency = None;
        let Some(result) = Self::eval(&self.expr, data, &mut currency)? else { return Ok(Value::Null) };
        Ok(match field.field_type {
            FieldType::Money => {
                let Some(cents) = result.round_to(2).and_then(|c| i64::try_from(c).ok()) else { return Ok(Value::Null) };
                let currency = field.currency.clone().or(currency).unwrap_or_else(|| "EUR".into());
                json!({ "amount": cents, "currency": currency })
            }
            _ => {
                let places = u32::from(field.decimals.unwrap_or(2));
                let Some(scaled) = result.round_to(places) else { return Ok(Value::Null) };
                let text = if places == 0 {
                    scaled.to_string()
                } else {
                    let sign = if scaled < 0 { "-" } else { "" };
                    let abs = scaled.unsigned_abs();
                    let div = 10u128.pow(places);
                    format!("{sign}{}.{:0width$}", abs / div, abs % div, width = places as usize)
                };
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
            }
        })
    }
}

/// Checks every formula of `collection`: it parses, names number and money fields of the
/// collection, has the unit of its field, and no formula depends on itself through others.
/// Returns the computed fields in an order where each comes after the computed fields it reads.
pub fn check_formulas(collection: &CollectionDef) -> Result<Vec<(String, Formula)>, SchemaError> {
    let mut formulas = BTreeMap::new();
    for (i, field) in collection.fields.iter().enumerate() {
        let Some(text) = &field.compute else { continue };
        let at = |m: String| SchemaError::new(format!("fields[{i}].compute"), m);
        if !matches!(field.field_type, FieldType::Number | FieldType::Money) || field.multiple {
            return Err(at(format!("only number and money fields can be computed, not {}", field.field_type)));
        }
        if field.required || field.unique || field.default.is_some() || field.write_permission.is_some() {
            return Err(at("a computed field is set by its formula: remove `required`, `unique`, `default` and `write_permission`".into()));
        }
        let formula = Formula::parse(text).map_err(at)?;
        let unit = Formula::unit(&formula.expr, collection).map_err(at)?;
        match (field.field_type, unit) {
            (FieldType::Money, Unit::Number) => return Err(at("the formula gives a number but the field is money (multiply by an amount)".into())),
            (FieldType::Number, Unit::Money) => return Err(at("the formula gives an amount but the field is a number (make it a money field)".into())),
            _ => {}
        }
        formulas.insert(field.name.clone(), formula);
    }
    // Order: each computed field after the computed fields it reads; a cycle is an error.
    let mut ordered: Vec<(String, Formula)> = Vec::new();
    let mut left = formulas;
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, f)| f.inputs().iter().all(|i| !left.contains_key(i) || ordered.iter().any(|(n, _)| n == i)))
            .map(|(n, _)| n.clone())
            .collect();
        if ready.is_empty() {
            let names: Vec<&str> = left.keys().map(String::as_str).collect();
            return Err(SchemaError::new("fields", format!("the formulas of {} depend on each other in a circle", names.join(", "))));
        }
        for name in ready {
            if let Some(f) = left.remove(&name) {
                ordered.push((name, f));
            }
        }
    }
    Ok(ordered)
}

/// Sets every computed field of `collection` in `data` from its formula.
pub fn recompute(collection: &CollectionDef, data: &mut Map<String, Value>) -> Result<(), SchemaError> {
    for (name, formula) in check_formulas(collection)? {
        let Some(field) = collection.field(&name) else { continue };
        match formula.value(field, data).map_err(|m| SchemaError::new(name.clone(), m))? {
            Value::Null => {
                data.remove(&name);
            }
            value => {
                data.insert(name, value);
            }
        }
    }
    Ok(())
}

/// The fields `field` depends on, directly or through other computed fields (itself excluded).
pub fn inputs_of(collection: &CollectionDef, field: &FieldDef) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = field.compute.as_deref().and_then(|t| Formula::parse(t).ok()).map(|f| f.inputs().into_iter().collect()).unwrap_or_default();
    while let Some(name) = stack.pop() {
        if name == field.name || !seen.insert(name.clone()) {
            continue;
        }
        if let Some(inner) = collection.field(&name).and_then(|f| f.compute.as_deref()).and_then(|t| Formula::parse(t).ok()) {
            stack.extend(inner.inputs());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(extra: &str) -> CollectionDef {
        let text = format!(
            r#"
[[collections]]
name = "line"
label = "Lignes"
[[collections.fields]]
name = "sale_price"
type = "money"
label = "Vente"
currency = "EUR"
[[collections.fields]]
name = "purchase_price"
type = "money"
label = "Achat"
currency = "EUR"
[[collections.fields]]
name = "quantity"
type = "number"
label = "Quantité"
[[collections.fields]]
name = "note"
type = "text"
label = "Note"
{extra}
"#
        );
        super::super::SchemaFile::parse(&text).map(|f| f.collections[0].clone()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn margin() -> CollectionDef {
        collection(
            r#"
[[collections.fields]]
name = "margin"
type = "money"
label = "Marge"
currency = "EUR"
compute = "sale_price - purchase_price"
[[collections.fields]]
name = "rate"
type = "number"
label = "Taux"
decimals = 1
compute = "margin / sale_price * 100"
"#,
        )
    }

    fn money(cents: i64) -> Value {
        json!({ "amount": cents, "currency": "EUR" })
    }

    #[test]
    fn the_margin_follows_the_prices_and_the_rate_follows_the_margin() {
        let c = margin();
        let mut data = Map::new();
        data.insert("sale_price".into(), money(1490));
        data.insert("purchase_price".into(), money(690));
        recompute(&c, &mut data).unwrap();
        assert_eq!(data["margin"], money(800));
        assert_eq!(data["rate"], json!(53.7));
        data.insert("sale_price".into(), money(1200));
        recompute(&c, &mut data).unwrap();
        assert_eq!(data["margin"], money(510));
        assert_eq!(data["rate"], json!(42.5));
    }

    #[test]
    fn a_missing_input_or_a_zero_divisor_empties_the_field() {
        let c = margin();
        let mut data = Map::new();
        data.insert("sale_price".into(), money(0));
        data.insert("margin".into(), money(999));
        recompute(&c, &mut data).unwrap();
        assert!(!data.contains_key("margin"), "no purchase price: no margin");
        data.insert("purchase_price".into(), money(0));
        recompute(&c, &mut data).unwrap();
        assert_eq!(data["margin"], money(0));
        assert!(!data.contains_key("rate"), "zero sale price: no rate");
    }

    #[test]
    fn money_is_exact_and_rounded_half_away_from_zero() {
        let c = collection(
            r#"
[[collections.fields]]
name = "total"
type = "money"
label = "Total"
compute = "sale_price * quantity * 1.2"
"#,
        );
        let mut data = Map::new();
        // 0,10 € × 3 × 1,2 = 0,36 € exactly (binary floats give 0.36000000000000004).
        data.insert("sale_price".into(), money(10));
        data.insert("quantity".into(), json!(3));
        recompute(&c, &mut data).unwrap();
        assert_eq!(data["total"], money(36));
        // 0,05 € × 0,5 × 1,2 = 0,03 € (0,030); 0,125 rounds to 0,13 and -0,125 to -0,13.
        data.insert("quantity".into(), json!(0.5));
        recompute(&c, &mut data).unwrap();
        assert_eq!(data["total"], money(6));
        assert_eq!(Dec::parse("0.125").unwrap().round_to(2), Some(13));
        assert_eq!(Dec::parse("-0.125").unwrap().round_to(2), Some(-13));
    }

    #[test]
    fn formulas_are_checked_when_the_schema_is_read() {
        let bad = |compute: &str, field_type: &str| {
            let extra = format!("[[collections.fields]]\nname = \"x\"\ntype = \"{field_type}\"\nlabel = \"X\"\ncompute = \"{compute}\"\n");
            let text = format!(
                "[[collections]]\nname = \"line\"\nlabel = \"Lignes\"\n[[collections.fields]]\nname = \"sale_price\"\ntype = \"money\"\nlabel = \"V\"\n[[collections.fields]]\nname = \"note\"\ntype = \"text\"\nlabel = \"N\"\n[[collections.fields]]\nname = \"quantity\"\ntype = \"number\"\nlabel = \"Q\"\n{extra}"
            );
            super::super::SchemaFile::parse(&text).unwrap_err().to_string()
        };
        assert!(bad("sale_price +", "money").contains("ends too early"), "{}", bad("sale_price +", "money"));
        assert!(bad("sale_price + 1", "money").contains("money can only be added to or taken from money"));
        assert!(bad("sale_price * sale_price", "money").contains("cannot be multiplied by money"));
        assert!(bad("quantity / sale_price", "number").contains("cannot be divided by money"));
        assert!(bad("note * 2", "number").contains("`note` is a text field"));
        assert!(bad("missing * 2", "number").contains("`missing` is not a field"));
        assert!(bad("sale_price * 2", "number").contains("gives an amount but the field is a number"));
        assert!(bad("quantity * 2", "money").contains("gives a number but the field is money"));
        assert!(bad("x + 1", "number").contains("depend on each other in a circle"));
        assert!(bad("quantity 2", "number").contains("expected an operator"));
        assert!(bad("sale_price * 2", "text").contains("only number and money fields can be computed"));
    }

    #[test]
    fn inputs_are_followed_through_other_computed_fields() {
        let c = margin();
        let rate = c.field("rate").unwrap();
        assert_eq!(inputs_of(&c, rate).into_iter().collect::<Vec<_>>(), ["margin", "purchase_price", "sale_price"]);
    }
}
