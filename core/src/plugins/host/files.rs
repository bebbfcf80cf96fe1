//! `files` (host API 1.2): the content of files users attach to records, for plugins granted
//! `files_read` on the record's collection (`cap:files:<collection>`).
//!
//! Two ways in, both needing the grant: a file attached to a record the plugin may read (its
//! field included), or — inside a filter hook — a file the filtered write attaches, uploaded by
//! the user making that write, so a plugin can check an import before it is saved. Anything else
//! is `not-found`, exactly as a file that does not exist, so a plugin cannot probe for ids.

use uuid::Uuid;

use super::WitFieldError;
use super::invocation::Invocation;
use super::socle::plugin::files::{File, Host};
use super::socle::plugin::types::HostError;
use super::state::PendingFile;
use crate::records::RecordEngine;
use crate::records::RecordError;

capability!(Files => FilesHost {
    #[doc = "The records engine (files and the records they are attached to)."] records: RecordEngine,
    #[doc = "Files the write being filtered attaches (filter hooks only)."] pending: [PendingFile]
});

/// Largest file handed to a plugin: its linear memory is bounded (32 to 128 MiB by plan), and a
/// partner parsing a file this size needs several times its size.
pub const MAX_READ_BYTES: i64 = 8 * 1024 * 1024;

impl Host for FilesHost<'_> {
    async fn read(&mut self, id: String) -> wasmtime::Result<Result<File, HostError>> {
        self.inv.charge()?;
        if !self.inv.guest.granted.declares_kind("files_read") {
            return Ok(Err(self.inv.deny("the manifest does not declare the `files_read` capability".into())));
        }
        let not_found = || HostError::NotFound(format!("file {id} does not exist in this tenant"));
        let Ok(uuid) = Uuid::parse_str(&id) else { return Ok(Err(not_found())) };
        // Which collection's grant applies: the record the file is attached to (the records
        // engine decides whether the plugin may read it, field included), or the write being
        // filtered that attaches it.
        let (info, collection) = match self.records.readable_file(&self.inv.caller(), uuid).await {
            Ok((info, Some(collection))) => (info, collection),
            Ok((_, None)) | Err(RecordError::NotFound(_)) => {
                let Some(pending) = self.pending.iter().find(|p| p.id == uuid).cloned() else { return Ok(Err(not_found())) };
                match self.records.file_info(self.inv.tenant.id, uuid).await {
                    Ok(Some(info)) if info.record_id.is_none() && info.created_by == pending.uploader => (info, pending.collection),
                    Ok(_) => return Ok(Err(not_found())),
                    Err(e) => return Ok(Err(self.inv.record_error(e))),
                }
            }
            Err(e) => return Ok(Err(self.inv.record_error(e))),
        };
        if let Err(denied) = self.inv.guest.granted.check("files_read", Some(&collection)).map_err(|missing| self.inv.deny(missing)) {
            return Ok(Err(denied));
        }
        if info.size > MAX_READ_BYTES {
            let message = format!("the file is {} MiB; plugins read files of at most {} MiB", info.size >> 20, MAX_READ_BYTES >> 20);
            return Ok(Err(HostError::Invalid(vec![WitFieldError { field: "file".into(), message }])));
        }
        let content = match self.records.file_content(self.inv.tenant.id, uuid).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(Err(not_found())),
            Err(e) => return Ok(Err(self.inv.record_error(e))),
        };
        tracing::debug!(tenant.id = %self.inv.tenant.id, plugin.id = %self.inv.guest.id, file.id = %uuid, collection = %collection, bytes = content.len(), "plugin read a file");
        Ok(Ok(File {
            id: uuid.to_string(),
            name: info.name,
            content_type: info.content_type,
            size: u64::try_from(info.size).unwrap_or(0),
            sha256: info.sha256,
            content,
        }))
    }
}
