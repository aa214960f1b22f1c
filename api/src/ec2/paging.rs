//! MaxResults / NextToken paging, shared by the Describe* actions that page.
//! A token is the id of the last item of the page (base64url): pages are
//! served in id order, so a token stays valid while items come and go.

use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Most items in this page (`None`: all).
    pub size: Option<usize>,
    /// Serve items after this id.
    pub after: Option<String>,
}

impl Page {
    /// Reads `MaxResults` (within `min..=max`) and `NextToken`.
    pub fn parse(params: &Params, min: i64, max: i64) -> Result<Page, Ec2Error> {
        let size = match params.int("MaxResults")? {
            None => None,
            Some(n) if !(min..=max).contains(&n) => {
                return Err(Ec2Error::invalid(format!(
                    "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between {min} and {max}."
                )));
            }
            Some(n) => Some(n as usize),
        };
        let after = match params.get("NextToken").filter(|t| !t.is_empty()) {
            None => None,
            Some(token) => {
                Some(URL_SAFE_NO_PAD.decode(token).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(
                    || Ec2Error::new(Code::InvalidPaginationToken, format!("Invalid NextToken: {token}")),
                )?)
            }
        };
        Ok(Page { size, after })
    }

    /// [`Page::parse`] for an action that also takes ids (`parameter`):
    /// ids with MaxResults is InvalidParameterCombination, as EC2 answers.
    pub fn parse_apart_from_ids(
        params: &Params,
        min: i64,
        max: i64,
        ids_given: bool,
        parameter: &str,
    ) -> Result<Page, Ec2Error> {
        let page = Page::parse(params, min, max)?;
        if page.size.is_some() && ids_given {
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                format!("The parameter {parameter} cannot be used with the parameter maxResults"),
            ));
        }
        Ok(page)
    }

    /// Takes one page from `items` (in id order, already past `after`);
    /// returns it and the token of the next page, if any.
    pub fn take<T>(
        &self,
        items: impl Iterator<Item = T>,
        id: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let mut items = items.peekable();
        let mut page = Vec::new();
        let limit = self.size.unwrap_or(usize::MAX);
        while page.len() < limit {
            match items.next() {
                Some(item) => page.push(item),
                None => break,
            }
        }
        let next = if page.len() == limit && items.peek().is_some() {
            page.last().map(|last| URL_SAFE_NO_PAD.encode(id(last)))
        } else {
            None
        };
        (page, next)
    }

    /// Is `id` past the token?
    pub fn after(&self, id: &str) -> bool {
        self.after.as_deref().is_none_or(|after| id > after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_chain_through_tokens() {
        let all: Vec<String> = (0..12).map(|i| format!("id-{i:02}")).collect();
        let mut page = Page { size: Some(5), after: None };
        let mut seen = Vec::new();
        loop {
            let (items, next) = page.take(all.iter().filter(|i| page.after(i)).cloned(), |s| s.clone());
            seen.extend(items);
            match next {
                Some(token) => {
                    page.after = Some(String::from_utf8(URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap())
                }
                None => break,
            }
        }
        assert_eq!(seen, all);
    }
}
