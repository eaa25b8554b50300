//! Reading `application/x-www-form-urlencoded` parameters the way OAuth wants.
//!
//! RFC 6749 §3.1 and §3.2: a parameter sent without a value is treated as omitted,
//! and no parameter may appear twice. Parsing never fails (bad percent-encoding
//! decodes lossily), so a malformed request gets a protocol error naming the
//! parameter instead of a framework rejection.

use std::collections::HashMap;

/// Request parameters, each at most once.
#[derive(Default)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be codes, tokens or passwords: list the names only.
        let mut names: Vec<&String> = self.values.keys().collect();
        names.sort();
        f.debug_struct("Params").field("names", &names).finish()
    }
}

impl Params {
    /// Parses a query string or form body.
    pub(crate) fn parse(input: &[u8]) -> Self {
        let mut params = Self::default();
        for (name, value) in url::form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            if params.values.contains_key(name.as_ref()) {
                if !params.repeated.iter().any(|seen| *seen == name) {
                    params.repeated.push(name.into_owned());
                }
                continue;
            }
            params.values.insert(name.into_owned(), value.into_owned());
        }
        params
    }

    /// The value of `name`, if sent (and not empty).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Removes and returns the value of `name`; used for secrets, so that they
    /// move straight into a [`Secret`](crate::secret::Secret).
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    /// The first parameter that was sent more than once, if any.
    pub(crate) fn repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }

    /// Whether `name` was sent more than once.
    pub(crate) fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|seen| seen == name)
    }
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn empty_values_are_omitted_and_repeats_noticed() {
        let params = Params::parse(b"a=1&b=&c=%20x&a=2");
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some(" x"));
        assert_eq!(params.repeated(), Some("a"));
    }
}
