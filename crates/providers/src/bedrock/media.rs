//! Images and documents for Converse content blocks: inline bytes (base64) or `s3://`
//! locations. Bedrock cannot fetch http(s) URLs or provider file ids; those follow the
//! `unsupported_params` policy (`image_url`, `file_id`, `file`). Unknown inline media types are
//! the client's error.

use serde_json::{json, Value};
use switchyard_types::{GatewayError, MediaSource};

use super::request::Ctx;

fn image_format(media_type: &str) -> Option<&'static str> {
    match media_type.to_ascii_lowercase().as_str() {
        "image/png" => Some("png"),
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

fn extension(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

pub(super) fn image_block(
    source: &MediaSource,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Value>, GatewayError> {
    match source.clone().normalize_data_url() {
        MediaSource::Base64 { media_type, data } => {
            let format = image_format(&media_type).ok_or_else(|| {
                GatewayError::bad_request(format!(
                    "bedrock: unsupported image type {media_type} (png, jpeg, gif, webp)"
                ))
            })?;
            Ok(Some(
                json!({"image": {"format": format, "source": {"bytes": data}}}),
            ))
        }
        MediaSource::Url { url } if url.starts_with("s3://") => {
            let ext = extension(&url);
            match image_format(&format!("image/{ext}")) {
                Some(format) => Ok(Some(json!({"image": {
                    "format": format,
                    "source": {"s3Location": {"uri": url}},
                }}))),
                None => {
                    ctx.unsupported("image_url")?;
                    Ok(None)
                }
            }
        }
        MediaSource::Url { .. } => {
            ctx.unsupported("image_url")?;
            Ok(None)
        }
        MediaSource::FileId { .. } => {
            ctx.unsupported("file_id")?;
            Ok(None)
        }
    }
}

fn document_format(media_type: &str) -> Option<&'static str> {
    Some(match media_type.to_ascii_lowercase().as_str() {
        "application/pdf" => "pdf",
        "text/csv" => "csv",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "text/html" => "html",
        "text/plain" => "txt",
        "text/markdown" => "md",
        _ => return None,
    })
}

fn document_format_from_ext(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "pdf" => "pdf",
        "csv" => "csv",
        "doc" => "doc",
        "docx" => "docx",
        "xls" => "xls",
        "xlsx" => "xlsx",
        "html" | "htm" => "html",
        "txt" => "txt",
        "md" => "md",
        _ => return None,
    })
}

/// Bedrock document names allow alphanumerics, single spaces, hyphens, parentheses and square
/// brackets, and must be unique within a request.
fn document_name(filename: Option<&str>, ctx: &mut Ctx<'_>) -> String {
    let stem = filename
        .map(|f| f.rsplit_once('.').map(|(s, _)| s).unwrap_or(f))
        .unwrap_or("");
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']') {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut base = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if base.is_empty() {
        base = "document".to_string();
    }
    let mut name = base.clone();
    let mut n = 2;
    while ctx.doc_names.contains(&name) {
        name = format!("{base} ({n})");
        n += 1;
    }
    ctx.doc_names.insert(name.clone());
    name
}

pub(super) fn document_block(
    source: &MediaSource,
    filename: Option<&str>,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Value>, GatewayError> {
    match source.clone().normalize_data_url() {
        MediaSource::Base64 { media_type, data } => {
            let format = document_format(&media_type).ok_or_else(|| {
                GatewayError::bad_request(format!(
                    "bedrock: unsupported document type {media_type}"
                ))
            })?;
            let name = document_name(filename, ctx);
            Ok(Some(json!({"document": {
                "format": format,
                "name": name,
                "source": {"bytes": data},
            }})))
        }
        MediaSource::Url { url } if url.starts_with("s3://") => {
            match document_format_from_ext(&extension(&url)) {
                Some(format) => {
                    let name = document_name(filename.or(url.rsplit('/').next()), ctx);
                    Ok(Some(json!({"document": {
                        "format": format,
                        "name": name,
                        "source": {"s3Location": {"uri": url}},
                    }})))
                }
                None => {
                    ctx.unsupported("file")?;
                    Ok(None)
                }
            }
        }
        MediaSource::Url { .. } | MediaSource::FileId { .. } => {
            ctx.unsupported("file")?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dropped;
    use std::collections::HashSet;
    use switchyard_config::UnsupportedParams;

    #[test]
    fn document_names_are_cleaned_and_unique() {
        let mut d = Dropped::default();
        let mut ctx = Ctx {
            policy: UnsupportedParams::Drop,
            dropped: &mut d,
            doc_names: HashSet::new(),
        };
        assert_eq!(
            document_name(Some("Q3  report_final.pdf"), &mut ctx),
            "Q3 report final"
        );
        assert_eq!(
            document_name(Some("Q3 report final.docx"), &mut ctx),
            "Q3 report final (2)"
        );
        assert_eq!(document_name(None, &mut ctx), "document");
        assert_eq!(document_name(Some("..."), &mut ctx), "document (2)");
    }
}
