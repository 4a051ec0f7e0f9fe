//! Paging of list answers: a client's opaque cursor (hex of the index key of the last item of
//! the page before) back to bytes, the page length within its bounds, and the `next` link, this
//! request's path and query with `after` set, so a client follows links and never builds one.

use axum::http::Uri;

use super::ApiError;

/// A client's cursor back to bytes, and the page length within `1..=max`.
pub(super) fn page(
    after: Option<&String>,
    limit: Option<usize>,
    default: usize,
    max: usize,
) -> Result<(Option<Vec<u8>>, usize), ApiError> {
    let cursor = after
        .map(|text| {
            hex::decode(text).map_err(|_| {
                ApiError::bad_request(
                    "invalid_cursor",
                    format!("{text:?} is not a cursor this node gave (use the next link as it is)"),
                )
            })
        })
        .transpose()?;
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {max}, got {limit}"),
        ));
    }
    Ok((cursor, limit))
}

/// The link to the next page: this request's path and query with `after` set to `cursor`.
pub(super) fn next_link(uri: &Uri, cursor: Option<Vec<u8>>) -> Option<String> {
    let cursor = hex::encode(cursor?);
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("after="))
        .collect();
    let mut query = kept.join("&");
    if !query.is_empty() {
        query.push('&');
    }
    Some(format!("{}?{query}after={cursor}", uri.path()))
}
