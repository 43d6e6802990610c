//! The part of Structured Field Values (RFC 8941) that message signatures
//! use: dictionaries whose members are byte sequences (`Signature`) or inner
//! lists of strings with parameters (`Signature-Input`).

/// A bare item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Integer(i64),
    Decimal(f64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

/// `;name=value` parameters, in order.
pub type Params = Vec<(String, Item)>;

/// A dictionary member's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Item(Item, Params),
    InnerList(Vec<(Item, Params)>, Params),
}

/// A parse error: what was expected and where.
pub type ParseError = String;

/// Parses a dictionary (`a=1, b=(...);p=2, c=:AAA=:`).
pub fn parse_dictionary(text: &str) -> Result<Vec<(String, Member)>, ParseError> {
    let mut p = Parser { s: text.as_bytes(), pos: 0 };
    let mut members: Vec<(String, Member)> = Vec::new();
    p.skip_sp();
    if p.at_end() {
        return Ok(members);
    }
    loop {
        let key = p.key()?;
        let member = if p.eat(b'=') { p.member()? } else { Member::Item(Item::Boolean(true), p.params()?) };
        // RFC 8941 §4.2.2: a later member with the same key replaces an earlier one.
        members.retain(|(k, _)| *k != key);
        members.push((key, member));
        p.skip_ows();
        if p.at_end() {
            return Ok(members);
        }
        if !p.eat(b',') {
            return Err(p.error("expected ','"));
        }
        p.skip_ows();
        if p.at_end() {
            return Err(p.error("trailing ','"));
        }
    }
}

/// Serializes a string item (`"..."`), as signature bases need it.
pub fn serialize_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Serializes an item the way RFC 8941 §4.1 does.
pub fn serialize_item(item: &Item) -> String {
    match item {
        Item::Integer(n) => n.to_string(),
        Item::Decimal(d) => {
            let text = format!("{:.3}", d);
            let trimmed = text.trim_end_matches('0');
            if trimmed.ends_with('.') {
                format!("{}0", trimmed)
            } else {
                trimmed.to_string()
            }
        }
        Item::String(s) => serialize_string(s),
        Item::Token(t) => t.clone(),
        Item::Bytes(b) => format!(":{}:", crate::base64::encode(b)),
        Item::Boolean(true) => "?1".to_string(),
        Item::Boolean(false) => "?0".to_string(),
    }
}

/// Serializes parameters (`;a=1;b`).
pub fn serialize_params(params: &Params) -> String {
    let mut out = String::new();
    for (name, value) in params {
        out.push(';');
        out.push_str(name);
        if *value != Item::Boolean(true) {
            out.push('=');
            out.push_str(&serialize_item(value));
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> ParseError {
        format!("{} at character {}", what, self.pos)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn skip_ows(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// `key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`
    fn key(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.pos += 1,
            _ => return Err(self.error("expected a key")),
        }
        while let Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*') = self.peek() {
            self.pos += 1;
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn member(&mut self) -> Result<Member, ParseError> {
        if self.peek() == Some(b'(') {
            self.pos += 1;
            let mut items = Vec::new();
            loop {
                self.skip_sp();
                if self.eat(b')') {
                    return Ok(Member::InnerList(items, self.params()?));
                }
                let item = self.bare_item()?;
                items.push((item, self.params()?));
                match self.peek() {
                    Some(b' ' | b')') => {}
                    _ => return Err(self.error("expected ' ' or ')'")),
                }
            }
        }
        let item = self.bare_item()?;
        Ok(Member::Item(item, self.params()?))
    }

    fn params(&mut self) -> Result<Params, ParseError> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let name = self.key()?;
            let value = if self.eat(b'=') { self.bare_item()? } else { Item::Boolean(true) };
            params.retain(|(n, _)| *n != name);
            params.push((name, value));
        }
        Ok(params)
    }

    fn bare_item(&mut self) -> Result<Item, ParseError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.pos += 1;
                let value = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err(self.error("expected ?0 or ?1")),
                };
                self.pos += 1;
                Ok(Item::Boolean(value))
            }
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'*') => self.token(),
            _ => Err(self.error("expected an item")),
        }
    }

    fn number(&mut self) -> Result<Item, ParseError> {
        let start = self.pos;
        self.eat(b'-');
        let digits_start = self.pos;
        while let Some(b'0'..=b'9' | b'.') = self.peek() {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        let digits = &self.s[digits_start..self.pos];
        if digits.is_empty() || !digits[0].is_ascii_digit() {
            return Err(self.error("expected a digit"));
        }
        match digits.iter().filter(|&&c| c == b'.').count() {
            0 if digits.len() <= 15 => text.parse().map(Item::Integer).map_err(|_| self.error("bad integer")),
            1 if !digits.ends_with(b".") && digits.len() <= 16 => text.parse().map(Item::Decimal).map_err(|_| self.error("bad decimal")),
            _ => Err(self.error("bad number")),
        }
    }

    fn string(&mut self) -> Result<Item, ParseError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Item::String(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(c as char),
                        _ => return Err(self.error("bad escape")),
                    }
                    self.pos += 1;
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(c as char);
                    self.pos += 1;
                }
                Some(_) => return Err(self.error("invalid character in string")),
            }
        }
    }

    fn token(&mut self) -> Result<Item, ParseError> {
        let start = self.pos;
        self.pos += 1;
        while let Some(c) = self.peek() {
            let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c);
            if !tchar {
                break;
            }
            self.pos += 1;
        }
        Ok(Item::Token(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()))
    }

    fn bytes(&mut self) -> Result<Item, ParseError> {
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == b':' {
                break;
            }
            self.pos += 1;
        }
        if !self.eat(b':') {
            return Err(self.error("unterminated byte sequence"));
        }
        let text = std::str::from_utf8(&self.s[start..self.pos - 1]).unwrap_or("!");
        crate::base64::decode(text).map(Item::Bytes).ok_or_else(|| self.error("bad base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signature_headers() {
        let input = parse_dictionary(r#"sig1=("@method" "@authority" "content-digest");created=1618884473;keyid="test-key", sig2=();alg=hmac"#).unwrap();
        assert_eq!(input.len(), 2);
        let (items, params) = match &input[0].1 {
            Member::InnerList(items, params) => (items, params),
            other => panic!("{:?}", other),
        };
        assert_eq!(items[1].0, Item::String("@authority".into()));
        assert_eq!(params[0], ("created".to_string(), Item::Integer(1618884473)));
        assert_eq!(serialize_params(params), r#";created=1618884473;keyid="test-key""#);
        let sig = parse_dictionary("sig1=:Zm9v:").unwrap();
        assert_eq!(sig[0].1, Member::Item(Item::Bytes(b"foo".to_vec()), vec![]));
        for bad in ["sig1=(", "Sig=1", "a=1,", "a=:Zm9:", "a=\"x", "a=1 b=2"] {
            assert!(parse_dictionary(bad).is_err(), "{}", bad);
        }
    }
}
