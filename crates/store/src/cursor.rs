//! Opaque keyset cursors for newest-first pagination: `(ts, id)` of the last row returned,
//! tagged with the listing they belong to so a log cursor is refused by the audit query.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::error::StoreError;

/// Which listing a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorKind {
    Logs,
    Audit,
}

impl CursorKind {
    fn tag(self) -> &'static str {
        match self {
            CursorKind::Logs => "l1",
            CursorKind::Audit => "a1",
        }
    }
}

/// Position after which the next page starts (exclusive), in `(ts DESC, id DESC)` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub ts: i64,
    pub id: String,
}

impl Cursor {
    pub(crate) fn encode(&self, kind: CursorKind) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", kind.tag(), self.ts, self.id))
    }

    pub(crate) fn decode(text: &str, kind: CursorKind) -> Result<Self, StoreError> {
        let invalid = || StoreError::InvalidInput("invalid pagination cursor".to_owned());
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = raw.splitn(3, ':');
        let (Some(tag), Some(ts), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        if tag != kind.tag() || id.is_empty() {
            return Err(invalid());
        }
        let ts = ts.parse::<i64>().map_err(|_| invalid())?;
        Ok(Cursor {
            ts,
            id: id.to_owned(),
        })
    }
}

/// Turns the `limit + 1` rows fetched for a page into the page: if the extra row is there,
/// drop it and point the cursor at the last row kept.
pub(crate) fn finish_page<T>(
    mut items: Vec<T>,
    limit: u32,
    kind: CursorKind,
    position: impl Fn(&T) -> Cursor,
) -> crate::records::Page<T> {
    let limit = limit as usize;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| position(last).encode(kind))
    } else {
        None
    };
    crate::records::Page { items, next_cursor }
}

/// The page size actually used for a requested `limit`: at least 1, at most 1000.
pub(crate) fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, crate::records::MAX_PAGE_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_ids_containing_separators() {
        let c = Cursor {
            ts: 1_700_000_000_123,
            id: "req:with:colons".into(),
        };
        let text = c.encode(CursorKind::Logs);
        assert_eq!(Cursor::decode(&text, CursorKind::Logs).unwrap(), c);
    }

    #[test]
    fn refuses_garbage_and_cursors_of_another_listing() {
        let c = Cursor {
            ts: 5,
            id: "x".into(),
        };
        let audit = c.encode(CursorKind::Audit);
        assert!(Cursor::decode(&audit, CursorKind::Logs).is_err());
        for bad in ["", "!!!", "bDE6eDp5", &URL_SAFE_NO_PAD.encode("l1:5:")] {
            let err = Cursor::decode(bad, CursorKind::Logs).unwrap_err();
            assert!(matches!(err, StoreError::InvalidInput(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn page_has_a_cursor_only_when_more_rows_exist() {
        let pos = |n: &i64| Cursor {
            ts: *n,
            id: n.to_string(),
        };
        let page = finish_page(vec![9, 8, 7], 2, CursorKind::Logs, pos);
        assert_eq!(page.items, vec![9, 8]);
        let next = Cursor::decode(page.next_cursor.as_deref().unwrap(), CursorKind::Logs).unwrap();
        assert_eq!(next, pos(&8));
        let last = finish_page(vec![9, 8], 2, CursorKind::Logs, pos);
        assert_eq!((last.items.len(), last.next_cursor), (2, None));
    }

    #[test]
    fn limit_is_clamped() {
        assert_eq!(clamp_limit(0), 1);
        assert_eq!(clamp_limit(50), 50);
        assert_eq!(clamp_limit(5000), 1000);
    }
}
