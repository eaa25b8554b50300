//! A person's browser, reduced to what signing in at the development identity
//! provider needs: keep cookies, follow web redirects the way a browser does, stop
//! at the redirect that leaves the web for the app (the private-use scheme
//! `com.example.timesheets:/…`, RFC 8252 §7.1), and fill in and post the sign-in
//! form.
//!
//! Used by the `test-browser` binary (the app's stand-in for the system browser)
//! and by [`crate::oauth`] to get tokens for setting up a test over HTTP. Nothing
//! here prints a code, a state or a token: callers log only what [`Page`] shows
//! through [`Page::describe`].

use anyhow::{anyhow, bail, Context as _, Result};
use reqwest::{redirect, StatusCode};
use url::Url;

/// Browsers give up after about twenty hops; the provider needs one or two.
const MAX_REDIRECTS: usize = 20;

/// Where a request ended: an HTML page on the web, or a link for the app.
#[derive(Debug)]
pub enum Page {
    /// A web page, with the address it came from (for resolving relative links).
    Html {
        /// The page's address.
        url: Url,
        /// The HTTP status it came with.
        status: StatusCode,
        /// Its text.
        body: String,
    },
    /// A redirect to a scheme that is not `http`/`https`: a browser hands it to
    /// the operating system, which starts the app with it.
    AppLink(Url),
}

impl Page {
    /// What the page is, safe to log: the address without its query (which may
    /// carry a code and a state), and a page's status and alert text.
    pub fn describe(&self) -> String {
        match self {
            Page::Html { url, status, body } => {
                let alert = alert_text(body)
                    .map(|text| format!(" saying {text:?}"))
                    .unwrap_or_default();
                format!("page {} ({status}){alert}", without_query(url))
            }
            Page::AppLink(url) => format!("link for the app {}", without_query(url)),
        }
    }
}

/// An address without its query and fragment: fit for a log.
pub fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A cookie-keeping HTTP client that follows redirects by hand, so it can stop at
/// the one meant for the app.
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
}

impl Browser {
    /// A fresh browser with an empty cookie jar.
    pub fn new() -> Result<Self> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .user_agent("timesheets-test-browser")
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Browser { http })
    }

    /// Opens `url` as a person clicking a link would: GET, following web
    /// redirects, stopping at a page or at a link for the app.
    pub async fn open(&self, url: &Url) -> Result<Page> {
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("cannot open {}", without_query(url)))?;
        self.follow(response).await
    }

    /// Fills `form`'s fields named `email` and `password` and posts it as a
    /// browser would (`application/x-www-form-urlencoded`, hidden fields as found),
    /// following what the provider answers.
    pub async fn submit(&self, form: &Form, email: &str, password: &str) -> Result<Page> {
        let mut fields = form.fields.clone();
        for (name, value) in [("email", email), ("password", password)] {
            match fields.iter_mut().find(|(field, _)| field == name) {
                Some(slot) => slot.1 = value.to_owned(),
                None => bail!(
                    "the sign-in form at {} has no field named {name:?}",
                    without_query(&form.action)
                ),
            }
        }
        let response = self
            .http
            .post(form.action.clone())
            .form(&fields)
            .send()
            .await
            .with_context(|| format!("cannot post the form to {}", without_query(&form.action)))?;
        self.follow(response).await
    }

    /// Posts `form` as it is (a consent page's "Allow"), following what the
    /// provider answers.
    pub async fn submit_as_is(&self, form: &Form) -> Result<Page> {
        let response = self
            .http
            .post(form.action.clone())
            .form(&form.fields)
            .send()
            .await
            .with_context(|| format!("cannot post the form to {}", without_query(&form.action)))?;
        self.follow(response).await
    }

    /// Signs in at whatever provider `authorize` belongs to, as a person would:
    /// fills in the form that asks for `email` and `password`, agrees to any
    /// other form (a consent page), and stops where the provider lets go of the
    /// browser: a link for the app ([`Page::AppLink`]), or a page served from
    /// another origin than the provider's, which is the app's own loopback
    /// listener (RFC 8252 §7.3). `on_form` is told about each form before it is
    /// posted (the test browser logs it, or waits).
    pub async fn sign_in_through(
        &self,
        authorize: &Url,
        email: &str,
        password: &str,
        mut on_form: impl AsyncFnMut(&Form) -> Result<()>,
    ) -> Result<Page> {
        let provider = authorize.origin();
        let mut page = self.open(authorize).await?;
        let mut signed_in = false;
        for _ in 0..MAX_REDIRECTS {
            let (url, status, body) = match &page {
                Page::AppLink(_) => return Ok(page),
                Page::Html { url, .. } if url.origin() != provider => return Ok(page),
                Page::Html { url, status, body } => (url, *status, body),
            };
            if !status.is_success() {
                bail!(
                    "the provider refused ({status}): {}",
                    alert_text(body).unwrap_or_else(|| "no message".to_owned())
                );
            }
            let form = parse_form(body, url)?;
            on_form(&form).await?;
            let asks_for_password = form.fields.iter().any(|(name, _)| name == "password");
            page = if asks_for_password {
                if signed_in {
                    bail!(
                        "signing in as {email} failed: {}",
                        alert_text(body).unwrap_or_else(|| "no message".to_owned())
                    );
                }
                signed_in = true;
                self.submit(&form, email, password).await?
            } else {
                self.submit_as_is(&form).await?
            };
        }
        bail!("the provider never let go of the browser")
    }

    /// Follows redirects from `response` on; every hop after a 303 (or 301/302
    /// from a POST) is a GET, as browsers do.
    async fn follow(&self, mut response: reqwest::Response) -> Result<Page> {
        for _ in 0..MAX_REDIRECTS {
            let url = response.url().clone();
            let status = response.status();
            if !status.is_redirection() {
                let body = response
                    .text()
                    .await
                    .with_context(|| format!("cannot read {}", without_query(&url)))?;
                return Ok(Page::Html { url, status, body });
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .ok_or_else(|| {
                    anyhow!(
                        "{} answered {status} without a Location",
                        without_query(&url)
                    )
                })?
                .to_str()
                .context("the Location header is not text")?;
            let next = url
                .join(location)
                .context("the Location header is not a URL")?;
            if !matches!(next.scheme(), "http" | "https") {
                return Ok(Page::AppLink(next));
            }
            response = self.http.get(next.clone()).send().await.with_context(|| {
                format!("cannot follow the redirect to {}", without_query(&next))
            })?;
        }
        bail!("more than {MAX_REDIRECTS} redirects")
    }
}

/// An HTML form: where it posts and every named `<input>` with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The absolute address the form posts to.
    pub action: Url,
    /// `(name, value)` of each named input, in document order (hidden fields
    /// keep their values; the rest are empty until filled).
    pub fields: Vec<(String, String)>,
}

/// Reads the first `<form>` of `html`, resolving its `action` against `page`.
///
/// A deliberately small parser for the provider's own plain markup: tags and
/// attributes (quoted or not), HTML entities in values. It is not a general HTML
/// parser, and says so in its error when the page is not what it expects.
pub fn parse_form(html: &str, page: &Url) -> Result<Form> {
    let lower = html.to_ascii_lowercase();
    let start = lower
        .find("<form")
        .ok_or_else(|| anyhow!("the page has no <form>"))?;
    let end = lower[start..]
        .find("</form")
        .map(|i| start + i)
        .unwrap_or(html.len());
    let tags = tags(&html[start..end]);
    let form_tag = tags
        .iter()
        .find(|tag| tag.name == "form")
        .ok_or_else(|| anyhow!("the page's <form> tag could not be read"))?;
    let action = match form_tag.attr("action") {
        Some(action) if !action.is_empty() => page
            .join(action)
            .with_context(|| format!("the form's action {action:?} is not a URL"))?,
        // No action: the form posts back to the page's own address.
        _ => page.clone(),
    };
    let fields = tags
        .iter()
        .filter(|tag| tag.name == "input")
        .filter_map(|tag| {
            let name = tag.attr("name")?;
            let value = tag.attr("value").unwrap_or_default();
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    Ok(Form { action, fields })
}

/// The text of the page's first `role="alert"` element: how the provider says
/// what went wrong ("Email or password is incorrect.").
pub fn alert_text(html: &str) -> Option<String> {
    let at = html.find("role=\"alert\"")?;
    let open_end = html[at..].find('>')? + at + 1;
    let close = html[open_end..].find('<')? + open_end;
    let text = decode_entities(html[open_end..close].trim());
    (!text.is_empty()).then_some(text)
}

/// One start tag: its lower-case name and its attributes, values decoded.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Every start tag in `html`, in order.
fn tags(html: &str) -> Vec<Tag> {
    let mut found = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        let start = i + offset + 1;
        let Some(len) = html[start..].find('>') else {
            break;
        };
        let inner = &html[start..start + len];
        i = start + len + 1;
        if !bytes.get(start).is_some_and(u8::is_ascii_alphabetic) {
            continue; // an end tag, a comment or a doctype
        }
        found.push(parse_tag(inner));
    }
    found
}

fn parse_tag(inner: &str) -> Tag {
    let inner = inner.trim_end_matches('/');
    let name_end = inner
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(inner.len());
    let name = inner[..name_end].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remainder) = match after.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(quote).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = remainder.trim_start();
            decode_entities(value)
        } else {
            String::new()
        };
        if !key.is_empty() {
            attrs.push((key, value));
        }
    }
    Tag { name, attrs }
}

/// Decodes the entities an HTML escaper produces: the five named ones and
/// numeric references.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').and_then(|semi| {
            let entity = &after[..semi];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            ch.map(|ch| (ch, semi))
        });
        match decoded {
            Some((ch, semi)) => {
                out.push(ch);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><body><main>
<p class="error" role="alert" id="error">Email or password is incorrect.</p>
<form method="post" action="/authorize">
<input type="hidden" name="request_id" value="r&amp;1">
<input type="hidden" name="csrf" value='c&#x27;2'>
<p><label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus value="a@b.example">
<input id="password" name=password type=password required></p>
<button type="submit">Sign in</button>
</form></main></body></html>"#;

    #[test]
    fn the_sign_in_form_is_read_with_its_hidden_fields() {
        let page = Url::parse("http://127.0.0.1:9/authorize?client_id=x").expect("url");
        let form = parse_form(PAGE, &page).expect("form");
        assert_eq!(form.action.as_str(), "http://127.0.0.1:9/authorize");
        assert_eq!(
            form.fields,
            vec![
                ("request_id".to_owned(), "r&1".to_owned()),
                ("csrf".to_owned(), "c'2".to_owned()),
                ("email".to_owned(), "a@b.example".to_owned()),
                ("password".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn the_alert_is_what_the_provider_said() {
        assert_eq!(
            alert_text(PAGE).as_deref(),
            Some("Email or password is incorrect.")
        );
        assert_eq!(alert_text("<p>fine</p>"), None);
    }

    #[test]
    fn a_page_without_a_form_is_an_error() {
        let page = Url::parse("http://127.0.0.1:9/").expect("url");
        assert!(parse_form("<p>nothing</p>", &page).is_err());
    }

    #[test]
    fn logs_never_show_the_query() {
        let link =
            Url::parse("com.example.timesheets:/oauth/callback?code=SECRET&state=S").expect("url");
        let shown = Page::AppLink(link).describe();
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("com.example.timesheets:/oauth/callback"));
    }
}
