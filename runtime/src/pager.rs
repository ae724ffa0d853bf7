//! Cursor pagination as a lazy stream of items (what the generated `*_stream` methods return).

use std::collections::VecDeque;
use std::future::Future;

use futures_util::stream::{self, Stream};

use crate::Result;

/// One fetched page: its items and the cursor of the next page (`None` or empty: the last).
pub struct Page<Item> {
    /// The page's items, in order.
    pub items: Vec<Item>,
    /// The next page's cursor.
    pub next_cursor: Option<String>,
}

struct State<F, Item> {
    fetch: F,
    buffered: VecDeque<Item>,
    cursor: Option<String>,
    done: bool,
}

/// Fetches pages with `fetch(cursor)` (no cursor for the first page) only as the items are
/// consumed: every item of a page is yielded before the next page is asked for, the stream ends
/// after the page without a next cursor, and an error is yielded once, after every item that
/// came before it, and ends the stream.
#[doc(hidden)]
pub fn items<Item, F, Fut>(fetch: F) -> impl Stream<Item = Result<Item>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<Item>>>,
{
    let state = State {
        fetch,
        buffered: VecDeque::new(),
        cursor: None,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.buffered.pop_front() {
                return Some((Ok(item), state));
            }
            if state.done {
                return None;
            }
            match (state.fetch)(state.cursor.take()).await {
                Ok(page) => {
                    state.buffered.extend(page.items);
                    state.cursor = page.next_cursor.filter(|c| !c.is_empty());
                    state.done = state.cursor.is_none();
                }
                Err(error) => {
                    state.done = true;
                    return Some((Err(error), state));
                }
            }
        }
    })
}
