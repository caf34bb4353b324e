//! Files attached to tickets. Stored once by content hash under the attachments folder
//! (`ab/cdef…`, never a path taken from the upload's name), described by a row naming the
//! ticket, the file name as given (cleaned), the content type as the bytes show it, the size
//! and who uploaded it. Whoever may see a ticket may read and add its attachments.

use std::path::{Path, PathBuf};

use chrono::Utc;
use domain::tickets::{Attachment, PersonRef, human_size};
use domain::{AppError, ErrorKind};
use sha2::{Digest, Sha256};

use crate::auth::policy::{Permission, Principal, authorize};
use crate::db::Db;
use crate::db::tickets::{self as rows, AttachmentRow, NewAttachment, NewEvent};
use crate::error::Result;

/// Where files go and how many and how large they may be (from the configuration).
#[derive(Debug, Clone)]
pub struct AttachmentSettings {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub max_count: u32,
}

/// Longest stored file name, in characters.
const MAX_FILE_NAME: usize = 200;

/// The file name to show and offer on download: the last path segment of what the client
/// sent (`../../etc/passwd` → `passwd`), without control characters or quotes, at most
/// [`MAX_FILE_NAME`] characters; `file` if nothing is left.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let cleaned: String = cleaned.chars().take(MAX_FILE_NAME).collect();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    }
}

/// The content type the bytes show, whatever the client declared: the few types a browser
/// may display (images, PDF) only when their signature matches; plain text when it is valid
/// UTF-8 without NUL and its name says text; otherwise by extension among harmless document
/// types; `application/octet-stream` for the rest. HTML and SVG are never served as such.
pub fn sniff_content_type(bytes: &[u8], file_name: &str) -> &'static str {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return "image/png";
    }
    if starts(b"\xff\xd8\xff") {
        return "image/jpeg";
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return "image/gif";
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return "image/webp";
    }
    if starts(b"%PDF-") {
        return "application/pdf";
    }
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let texty = matches!(
        extension.as_str(),
        "txt" | "log" | "csv" | "md" | "json" | "yaml" | "yml"
    );
    if texty && std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0) {
        return match extension.as_str() {
            "csv" => "text/csv",
            _ => "text/plain; charset=utf-8",
        };
    }
    let zip = starts(b"PK\x03\x04");
    let ole = starts(b"\xd0\xcf\x11\xe0");
    match extension.as_str() {
        "docx" if zip => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" if zip => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" if zip => {
            "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        }
        "zip" if zip => "application/zip",
        "doc" if ole => "application/msword",
        "xls" if ole => "application/vnd.ms-excel",
        _ => "application/octet-stream",
    }
}

pub(crate) fn attachment(row: AttachmentRow) -> Attachment {
    Attachment {
        id: row.id,
        ticket_id: row.ticket_id,
        file_name: row.file_name,
        content_type: row.content_type,
        size_bytes: row.size_bytes,
        uploaded_by: match (row.uploaded_by, row.uploader_name, row.uploader_email) {
            (Some(id), Some(full_name), Some(email)) => Some(PersonRef {
                id,
                full_name,
                email,
            }),
            _ => None,
        },
        created_at: row.created_at,
    }
}

/// The file's place: two levels by hash, so no folder grows huge.
fn path_for(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(&sha256[..2]).join(&sha256[2..])
}

/// Writes the bytes under their hash unless they are there already (the same file attached
/// twice is stored once); the write goes to a temporary file renamed into place, so a reader
/// never sees half a file.
async fn write_content(dir: &Path, sha256: &str, bytes: &[u8]) -> Result<()> {
    let target = path_for(dir, sha256);
    if tokio::fs::try_exists(&target).await.unwrap_or(false) {
        return Ok(());
    }
    let folder = target.parent().unwrap_or(dir);
    tokio::fs::create_dir_all(folder)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", folder.display()))?;
    let temporary = folder.join(format!(
        ".{}.{}",
        &sha256[2..],
        uuid::Uuid::new_v4().simple()
    ));
    tokio::fs::write(&temporary, bytes)
        .await
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", temporary.display()))?;
    tokio::fs::rename(&temporary, &target)
        .await
        .map_err(|e| anyhow::anyhow!("cannot move {} into place: {e}", target.display()))?;
    Ok(())
}

/// Whether the caller may attach files to the ticket: one who may submit tickets and may see
/// this one (404 otherwise, as if it did not exist). Asked before an upload is read.
pub async fn may_attach(db: &Db, principal: &Principal, ticket_id: i64) -> Result<()> {
    authorize(principal, Permission::SubmitTickets)?;
    crate::tickets::get(db, principal, ticket_id).await?;
    Ok(())
}

/// Attaches a file to a ticket the caller may see. Over the size limit: 413; over the count
/// limit: 409; an empty file: 400.
pub async fn attach(
    db: &Db,
    settings: &AttachmentSettings,
    principal: &Principal,
    ticket_id: i64,
    file_name: &str,
    bytes: &[u8],
) -> Result<Attachment> {
    may_attach(db, principal, ticket_id).await?;
    store(db, settings, principal, ticket_id, None, file_name, bytes).await
}

/// Attaches a file to a comment; the comments service has checked that the caller may.
pub(crate) async fn attach_to_comment(
    db: &Db,
    settings: &AttachmentSettings,
    principal: &Principal,
    ticket_id: i64,
    comment_id: i64,
    file_name: &str,
    bytes: &[u8],
) -> Result<Attachment> {
    store(
        db,
        settings,
        principal,
        ticket_id,
        Some(comment_id),
        file_name,
        bytes,
    )
    .await
}

/// Checks the limits, writes the content under its hash and records the file.
async fn store(
    db: &Db,
    settings: &AttachmentSettings,
    principal: &Principal,
    ticket_id: i64,
    comment_id: Option<i64>,
    file_name: &str,
    bytes: &[u8],
) -> Result<Attachment> {
    if bytes.len() as u64 > settings.max_bytes {
        return Err(AppError::new(
            ErrorKind::PayloadTooLarge,
            format!(
                "The file is larger than the limit of {}.",
                human_size(settings.max_bytes)
            ),
        )
        .into());
    }
    if bytes.is_empty() {
        return Err(AppError::invalid_field("file", "is empty").into());
    }
    let file_name = clean_file_name(file_name);
    let content_type = sniff_content_type(bytes, &file_name);
    let sha256 = hex(&Sha256::digest(bytes));
    write_content(&settings.dir, &sha256, bytes).await?;

    let now = Utc::now();
    let actor_id = principal.user().map(|u| u.user.id);
    let mut tx = db.begin().await?;
    let count = rows::count_attachments(&mut tx.conn(), ticket_id, comment_id).await?;
    if count >= i64::from(settings.max_count) {
        let holder = if comment_id.is_some() {
            "comment"
        } else {
            "ticket"
        };
        return Err(AppError::conflict(format!(
            "This {holder} has the most attachments allowed ({}).",
            settings.max_count
        ))
        .into());
    }
    let id = rows::insert_attachment(
        &mut tx.conn(),
        &NewAttachment {
            ticket_id,
            comment_id,
            file_name: &file_name,
            content_type,
            size_bytes: bytes.len() as i64,
            sha256: &sha256,
            uploaded_by: actor_id,
            now,
        },
    )
    .await?;
    // A comment's file shows in the thread, not in the ticket's history.
    if comment_id.is_none() {
        rows::insert_event(
            &mut tx.conn(),
            &NewEvent {
                ticket_id,
                kind: "attachment",
                actor_id,
                from_value: None,
                to_value: Some(&file_name),
                note: "",
                is_internal: false,
                now,
            },
        )
        .await?;
    }
    rows::touch(&mut tx.conn(), ticket_id, now).await?;
    tx.commit().await?;
    let mut pooled = db.acquire().await?;
    let row = rows::find_attachment(&mut pooled.conn(), id)
        .await?
        .ok_or_else(|| AppError::not_found("Attachment"))?;
    Ok(attachment(row))
}

/// The ticket's attachments, oldest first, if the caller may see the ticket.
pub async fn list(db: &Db, principal: &Principal, ticket_id: i64) -> Result<Vec<Attachment>> {
    crate::tickets::get(db, principal, ticket_id).await?;
    let mut pooled = db.acquire().await?;
    Ok(rows::attachments_of(&mut pooled.conn(), ticket_id)
        .await?
        .into_iter()
        .map(attachment)
        .collect())
}

/// An attachment and the path of its content, if the caller may see its ticket (404 as if it
/// did not exist otherwise).
pub async fn open(
    db: &Db,
    settings: &AttachmentSettings,
    principal: &Principal,
    id: i64,
) -> Result<(Attachment, PathBuf)> {
    // The right to read tickets first: a caller without it learns nothing of which files exist.
    authorize(principal, Permission::ViewTickets)?;
    let row = {
        let mut pooled = db.acquire().await?;
        rows::find_attachment(&mut pooled.conn(), id).await?
    }
    .ok_or_else(|| AppError::not_found("Attachment"))?;
    crate::tickets::get(db, principal, row.ticket_id)
        .await
        .map_err(|_| AppError::not_found("Attachment"))?;
    if row.comment_internal == Some(true) && !crate::comments::sees_internal(principal) {
        return Err(AppError::not_found("Attachment").into());
    }
    // A deleted comment's files went with it, for everyone (the stored file stays, as its
    // earlier texts do, out of every door's reach).
    if row.comment_deleted_at.is_some() {
        return Err(AppError::not_found("Attachment").into());
    }
    let path = path_for(&settings.dir, &row.sha256);
    Ok((attachment(row), path))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_never_carry_a_path() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(clean_file_name("..\\..\\"), "file");
        assert_eq!(clean_file_name(".htaccess"), "htaccess");
        assert_eq!(clean_file_name("a\"b<c>\u{0}d.txt"), "abcd.txt");
        assert_eq!(clean_file_name(""), "file");
        assert_eq!(
            clean_file_name(&"x".repeat(500)).chars().count(),
            MAX_FILE_NAME
        );
    }

    #[test]
    fn content_types_come_from_the_bytes_not_the_claim() {
        assert_eq!(
            sniff_content_type(b"\x89PNG\r\n\x1a\n....", "x.png"),
            "image/png"
        );
        assert_eq!(
            sniff_content_type(b"<html><script>", "photo.png"),
            "application/octet-stream"
        );
        assert_eq!(
            sniff_content_type(b"<svg onload=alert(1)>", "logo.svg"),
            "application/octet-stream"
        );
        assert_eq!(
            sniff_content_type(b"<html>", "page.html"),
            "application/octet-stream"
        );
        assert_eq!(
            sniff_content_type(b"%PDF-1.7", "doc.pdf"),
            "application/pdf"
        );
        assert_eq!(
            sniff_content_type(b"hello", "notes.txt"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(sniff_content_type(b"a,b\n1,2", "data.csv"), "text/csv");
        assert_eq!(
            sniff_content_type(b"\x00\x01", "notes.txt"),
            "application/octet-stream"
        );
    }
}
