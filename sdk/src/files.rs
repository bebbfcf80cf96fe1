//! The content of files users attach to records (capability `files_read`, granted per
//! collection; host API 1.2): an imported invoice, a signed contract, a photo.
//!
//! A plugin reads a file by the id its file field holds. Outside a filter hook, the file must be
//! attached to a record the plugin may read; inside a filter hook, the plugin may also read the
//! files the write it is filtering attaches, so it can validate them before they are saved.

use serde_json::Value;

use crate::{Error, host};

/// Files larger than this are not handed to plugins (their memory is bounded).
pub const MAX_READ_BYTES: u64 = 8 * 1024 * 1024;

/// A file and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Id (what the file field holds under `id`).
    pub id: String,
    /// The name it was uploaded with.
    pub name: String,
    /// MIME type the uploader declared.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content (empty in the in-memory test host).
    pub sha256: String,
    /// The bytes.
    pub content: Vec<u8>,
}

impl File {
    /// The content as text: UTF-8 (a byte-order mark is skipped), or else Windows-1252, the
    /// encoding French spreadsheets and accounting tools still export CSV in.
    ///
    /// ```
    /// let file = |content: &[u8]| socle_sdk::files::File { content: content.to_vec(), ..Default::default() };
    /// assert_eq!(file("\u{feff}numéro;montant".as_bytes()).text(), "numéro;montant");
    /// assert_eq!(file(b"num\xe9ro;montant \x80").text(), "numéro;montant €");
    /// ```
    pub fn text(&self) -> String {
        let bytes = self.content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&self.content);
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
        }
    }
}

impl Default for File {
    fn default() -> Self {
        Self { id: String::new(), name: String::new(), content_type: "application/octet-stream".into(), size: 0, sha256: String::new(), content: Vec::new() }
    }
}

/// One Windows-1252 byte as a character (0x80–0x9F hold €, œ, typographic quotes…; the rest
/// is Latin-1).
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', //
        '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Reads file `id`. A file the plugin may not read, or that does not exist, is
/// [`Error::NotFound`]; one larger than [`MAX_READ_BYTES`] is [`Error::Invalid`]; an undeclared
/// or ungranted capability is [`Error::Denied`].
///
/// ```
/// use socle_sdk::{files, testing};
/// testing::reset();
/// let id = testing::add_file("octobre.csv", "text/csv", b"0612345678;Forfait;19,90");
/// let file = files::read(&id).unwrap();
/// assert_eq!((file.name.as_str(), file.size), ("octobre.csv", 24));
/// assert!(matches!(files::read("missing"), Err(socle_sdk::Error::NotFound(_))));
/// ```
pub fn read(id: &str) -> Result<File, Error> {
    host::files_read(id)
}

/// The id of the file a file field's value holds (`{"id": "…", "name": …}`), if any.
///
/// ```
/// let value = socle_sdk::json!({ "id": "0193", "name": "octobre.csv", "size": 24 });
/// assert_eq!(socle_sdk::files::id_in(Some(&value)), Some("0193"));
/// assert_eq!(socle_sdk::files::id_in(None), None);
/// ```
pub fn id_in(value: Option<&Value>) -> Option<&str> {
    value?.get("id")?.as_str().filter(|id| !id.is_empty())
}
