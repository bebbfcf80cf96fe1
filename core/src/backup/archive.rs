//! The backup archive: one `socle-backup-<UTC time>.tar.gz` file holding `manifest.json` first,
//! then the parts it lists (the database copy), each with its size and SHA-256. Written under a
//! hidden temporary name, synced, then renamed: an archive with the final name is complete.
//! Readable by hand with `tar -xzf`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The first entry of every archive.
pub const MANIFEST: &str = "manifest.json";
/// The archive format this binary writes and reads.
pub const FORMAT: u32 = 1;
/// Archive names start with this…
pub const PREFIX: &str = "socle-backup-";
/// …and end with this.
pub const SUFFIX: &str = ".tar.gz";
/// A manifest is small; a larger first entry is not one.
const MANIFEST_LIMIT: u64 = 1024 * 1024;

/// What an archive holds and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Archive format ([`FORMAT`]).
    pub format: u32,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    /// The same, in Unix milliseconds.
    pub created_at_ms: i64,
    /// The version of the `socle` that wrote it.
    pub socle_version: String,
    /// `sqlite` or `postgres`: the engine it restores into.
    pub backend: String,
    /// The newest migration applied to the database when it was copied.
    pub schema_version: i64,
    /// How the database was copied (`VACUUM INTO` of SQLite 3.x, `pg_dump` 15.x).
    pub tool: String,
    /// The backup run that wrote it (its row is in the snapshot, still running).
    pub run_id: Option<uuid::Uuid>,
    /// The files that follow the manifest.
    pub parts: Vec<Part>,
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Its name in the archive (no directory).
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// `socle-backup-20261204T101500.123Z.tar.gz`: names sort in time order.
pub fn file_name(at_ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z{SUFFIX}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// RFC 3339 text of a Unix time in milliseconds.
pub fn rfc3339(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Whether `name` is an archive this module wrote (and retention may delete).
pub fn is_archive_name(name: &str) -> bool {
    name.len() > PREFIX.len() + SUFFIX.len()
        && name.starts_with(PREFIX)
        && name.ends_with(SUFFIX)
        && name[PREFIX.len()..name.len() - SUFFIX.len()].bytes().all(|b| b.is_ascii_digit() || matches!(b, b'T' | b'Z' | b'.'))
}

/// The size and SHA-256 of a file.
pub fn digest(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = BufReader::new(File::open(path)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Creates a file only its owner may read (archives hold password hashes and secrets).
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `<dir>/<name>`: the manifest, then each part read from its file. Written to a hidden
/// temporary file first, synced and renamed, so a crash never leaves a truncated archive under
/// an archive's name.
pub fn write(dir: &Path, name: &str, manifest: &Manifest, parts: &[(String, PathBuf)]) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    anyhow::ensure!(!path.exists(), "{} already exists", path.display());
    let partial = dir.join(format!(".{name}.partial"));
    let written = (|| -> anyhow::Result<()> {
        let file = create_private(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
        let gzip = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
        let mut tar = tar::Builder::new(gzip);
        let mtime = u64::try_from(manifest.created_at_ms / 1000).unwrap_or(0);
        let json = serde_json::to_vec_pretty(manifest)?;
        append(&mut tar, MANIFEST, json.len() as u64, mtime, json.as_slice())?;
        for (part_name, part_path) in parts {
            let file = File::open(part_path).with_context(|| format!("cannot read {}", part_path.display()))?;
            let len = file.metadata()?.len();
            append(&mut tar, part_name, len, mtime, BufReader::new(file))?;
        }
        let gzip = tar.into_inner()?;
        let file = gzip.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(err.context(format!("failed to write the archive in {}", dir.display())));
    }
    std::fs::rename(&partial, &path).with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))?;
    // The rename itself is durable once the directory is synced.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(path)
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, len: u64, mtime: u64, data: impl Read) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(len);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, data).with_context(|| format!("cannot add {name} to the archive"))
}

fn entries(path: &Path) -> anyhow::Result<tar::Archive<flate2::read::GzDecoder<BufReader<File>>>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file))))
}

fn entry_name(entry: &tar::Entry<'_, impl Read>) -> anyhow::Result<String> {
    let path = entry.path()?;
    let name = path.to_str().filter(|n| !n.is_empty() && !n.contains('/') && !n.contains('\\') && *n != "." && *n != "..");
    name.map(str::to_owned).ok_or_else(|| anyhow::anyhow!("the archive holds an unexpected entry `{}`", path.display()))
}

/// The manifest of an archive (its first entry), checked for a format this binary reads.
pub fn read_manifest(path: &Path) -> anyhow::Result<Manifest> {
    let mut archive = entries(path)?;
    let mut entries = archive.entries().with_context(|| format!("{} is not a backup archive", path.display()))?;
    let Some(first) = entries.next() else { bail!("{} is empty: not a backup archive", path.display()) };
    let first = first.with_context(|| format!("{} is not a backup archive (a .tar.gz written by socle backup)", path.display()))?;
    manifest_of(first, path)
}

fn manifest_of(mut entry: tar::Entry<'_, impl Read>, path: &Path) -> anyhow::Result<Manifest> {
    anyhow::ensure!(entry_name(&entry)? == MANIFEST, "{} does not start with a manifest: not a backup archive", path.display());
    anyhow::ensure!(entry.size() <= MANIFEST_LIMIT, "the manifest of {} is too large", path.display());
    let mut text = String::new();
    entry.read_to_string(&mut text).with_context(|| format!("cannot read the manifest of {}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text).with_context(|| format!("the manifest of {} is not valid", path.display()))?;
    anyhow::ensure!(
        manifest.format == FORMAT,
        "{} is a backup of format {}, this socle reads format {FORMAT}: restore it with the socle version that wrote it ({})",
        path.display(),
        manifest.format,
        manifest.socle_version
    );
    Ok(manifest)
}

/// Extracts every part into `into` (a directory), checking each against the manifest: its
/// size, its SHA-256, and that the archive holds exactly the parts listed. Returns the manifest
/// and where each part was written.
pub fn extract(path: &Path, into: &Path) -> anyhow::Result<(Manifest, Vec<(Part, PathBuf)>)> {
    let mut archive = entries(path)?;
    let mut entries = archive.entries()?;
    let first = entries.next().ok_or_else(|| anyhow::anyhow!("{} is empty", path.display()))??;
    let manifest = manifest_of(first, path)?;
    let mut extracted = Vec::new();
    for entry in entries {
        let mut entry = entry.with_context(|| format!("{} is damaged", path.display()))?;
        let name = entry_name(&entry)?;
        let Some(part) = manifest.parts.iter().find(|p| p.name == name) else { bail!("{} holds `{name}`, which its manifest does not list", path.display()) };
        anyhow::ensure!(!extracted.iter().any(|(p, _): &(Part, PathBuf)| p.name == name), "{} holds `{name}` twice", path.display());
        let target = into.join(&name);
        let mut out = BufWriter::new(create_private(&target).with_context(|| format!("cannot create {}", target.display()))?);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = entry.read(&mut buf).with_context(|| format!("{} is damaged (reading {name})", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            bytes += n as u64;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        let sha256 = hex::encode(hasher.finalize());
        anyhow::ensure!(
            bytes == part.bytes && sha256 == part.sha256,
            "{name} in {} does not match its manifest (sha256 {sha256}, {bytes} bytes; expected {}, {} bytes): the archive is damaged or was altered",
            path.display(),
            part.sha256,
            part.bytes
        );
        extracted.push((part.clone(), target));
    }
    for part in &manifest.parts {
        anyhow::ensure!(
            extracted.iter().any(|(p, _)| p.name == part.name),
            "{} lacks `{}`, which its manifest lists: it is incomplete",
            path.display(),
            part.name
        );
    }
    Ok((manifest, extracted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_in_time_order_and_are_recognised() {
        let a = file_name(1_796_000_000_000);
        let b = file_name(1_796_000_000_001);
        let c = file_name(1_796_000_060_000);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(file_name(0), "socle-backup-19700101T000000.000Z.tar.gz");
        for name in [&a, &b, &c] {
            assert!(is_archive_name(name), "{name}");
        }
        for other in
            ["socle-backup-.tar.gz", "socle-backup-x.tar.gz", ".socle-backup-19700101T000000.000Z.tar.gz.partial", "notes.txt", "socle-backup-1/../x.tar.gz"]
        {
            assert!(!is_archive_name(other), "{other}");
        }
    }

    fn manifest(parts: Vec<Part>) -> Manifest {
        Manifest {
            format: FORMAT,
            created_at: rfc3339(1_796_000_000_000),
            created_at_ms: 1_796_000_000_000,
            socle_version: "0.1.0".into(),
            backend: "sqlite".into(),
            schema_version: 1,
            tool: "test".into(),
            run_id: None,
            parts,
        }
    }

    #[test]
    fn an_archive_round_trips_and_a_changed_part_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("database.sqlite");
        std::fs::write(&part, b"some bytes of a database").unwrap();
        let (bytes, sha256) = digest(&part).unwrap();
        let written = manifest(vec![Part { name: "database.sqlite".into(), bytes, sha256 }]);
        let path = write(dir.path(), &file_name(written.created_at_ms), &written, &[("database.sqlite".into(), part.clone())]).unwrap();
        assert_eq!(read_manifest(&path).unwrap(), written);
        let out = tempfile::tempdir().unwrap();
        let (read, parts) = extract(&path, out.path()).unwrap();
        assert_eq!(read, written);
        assert_eq!(std::fs::read(&parts[0].1).unwrap(), b"some bytes of a database");
        // No temporary file is left behind, and the same name is never overwritten.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        assert!(write(dir.path(), &file_name(written.created_at_ms), &written, &[("database.sqlite".into(), part.clone())]).is_err());

        // Same size, other content: the checksum catches it.
        std::fs::write(&part, b"SOME BYTES OF A DATABASE").unwrap();
        let forged = dir.path().join("forged");
        std::fs::create_dir(&forged).unwrap();
        let path = write(&forged, "socle-backup-1.tar.gz", &written, &[("database.sqlite".into(), part)]).unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = extract(&path, out.path()).unwrap_err().to_string();
        assert!(err.contains("does not match its manifest"), "{err}");
    }

    #[test]
    fn a_missing_part_or_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let listed = manifest(vec![Part { name: "database.sqlite".into(), bytes: 1, sha256: "00".into() }]);
        let path = write(dir.path(), "socle-backup-1.tar.gz", &listed, &[]).unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = extract(&path, out.path()).unwrap_err().to_string();
        assert!(err.contains("incomplete"), "{err}");

        let future = Manifest { format: FORMAT + 1, ..manifest(Vec::new()) };
        let path = write(dir.path(), "socle-backup-2.tar.gz", &future, &[]).unwrap();
        let err = read_manifest(&path).unwrap_err().to_string();
        assert!(err.contains("format 2"), "{err}");

        let junk = dir.path().join("junk.tar.gz");
        std::fs::write(&junk, b"not an archive").unwrap();
        assert!(read_manifest(&junk).is_err());
    }
}
