//! The `.socle` package format: what a publisher uploads and a host installs.
//!
//! A package is a gzip-compressed POSIX ustar archive with this layout:
//!
//! | path                 | required | content                                                  |
//! |----------------------|----------|----------------------------------------------------------|
//! | `socle.toml`         | yes      | the [`Manifest`], UTF-8                                  |
//! | `plugin.wasm`        | yes      | the WebAssembly component                                |
//! | `README.md`          | no       | UTF-8                                                    |
//! | `CHANGELOG.md`       | no       | UTF-8                                                    |
//! | `assets/<path>`      | no       | icon, screenshots: `png jpg jpeg svg webp md txt` only   |
//!
//! Packing is byte-for-byte reproducible (entries sorted by path, every timestamp, owner and mode
//! fixed, a fixed compression level), so the package's SHA-256 [`Digest`] names its content and a
//! publisher's signature over that digest can be checked against a rebuild from source.
//!
//! Unpacking treats the archive as hostile: every size is bounded before anything is allocated
//! or decompressed past a limit, and anything outside the layout — links, devices, directories,
//! extension headers, path tricks, duplicates, trailing data — is refused with an error that says
//! what is wrong and what to do about it. Nothing is ever written to disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use flate2::{Compression, GzBuilder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::manifest::Manifest;
use crate::schema::SchemaError;

/// The file extension of a package, without the dot: `hello-1.0.0.socle`.
pub const PACKAGE_EXTENSION: &str = "socle";
/// Path of the manifest inside a package (and in a plugin's source folder).
pub const MANIFEST_FILE: &str = "socle.toml";
/// Path of the component inside a package.
pub const COMPONENT_FILE: &str = "plugin.wasm";
/// Path of the optional README inside a package.
pub const README_FILE: &str = "README.md";
/// Path of the optional changelog inside a package.
pub const CHANGELOG_FILE: &str = "CHANGELOG.md";
/// Folder holding the assets, inside a package and in a plugin's source folder.
pub const ASSETS_DIR: &str = "assets";
/// File extensions an asset may have (compared without regard to ASCII case).
pub const ASSET_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "svg", "webp", "md", "txt"];
/// The first four bytes of every WebAssembly binary.
pub const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// Longest path of an entry, in bytes: the ustar `name` field. Asset paths therefore have at most
/// 93 bytes after `assets/`.
pub const MAX_PATH_BYTES: usize = 100;

const BLOCK: usize = 512;
/// Fixed so that the same inputs always compress to the same bytes (with the same deflate
/// implementation: a different flate2/miniz_oxide version may choose differently).
const COMPRESSION_LEVEL: u32 = 9;
/// "Unknown" in the gzip header, instead of the building machine's operating system.
const GZIP_OS_UNKNOWN: u8 = 255;
const ENTRY_MODE: u32 = 0o644;
/// How much of a hostile path an error message repeats.
const SHOWN_PATH_CHARS: usize = 120;

const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Digest

/// The SHA-256 of a package's bytes: its identity in the marketplace, in lockfiles and in
/// signatures. Written `sha256:<64 lowercase hex digits>`.
///
/// ```
/// use socle_marketplace::package::Digest;
/// let digest = Digest::of(b"");
/// assert_eq!(digest.to_string(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
/// assert_eq!(digest.to_string().parse::<Digest>(), Ok(digest));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// A digest from its 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(text: &str) -> Result<Digest, DigestParseError> {
        let error = |reason| DigestParseError { input: shown(text), reason };
        let hex_digits = text.strip_prefix("sha256:").ok_or_else(|| error("it does not start with `sha256:`"))?;
        if hex_digits.len() != 64 {
            return Err(error("it does not have exactly 64 hex digits after `sha256:`"));
        }
        // One spelling per digest, so that digests compare equal as strings too (in URLs, in
        // lockfiles, in the signed message).
        if !hex_digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(error("only the digits 0-9 and lowercase a-f may follow `sha256:`"));
        }
        let mut bytes = [0; 32];
        hex::decode_to_slice(hex_digits, &mut bytes).map_err(|_| error("the hex digits do not decode"))?;
        Ok(Digest(bytes))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A text that is not a `sha256:<hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a package digest because {reason}: write it as `sha256:` followed by the 64 \
     lowercase hex digits of the SHA-256 of the .socle file"
)]
pub struct DigestParseError {
    input: String,
    reason: &'static str,
}

// ---------------------------------------------------------------------------------------------
// Limits and errors

/// Bounds applied by [`Package::unpack`] (and [`Package::check`]) so that a hostile package cannot
/// exhaust the host's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageLimits {
    /// Largest `.socle` file, compressed. Checked before decompressing anything.
    pub max_archive_bytes: u64,
    /// Largest decompressed archive (headers and padding included); decompression stops there.
    pub max_unpacked_bytes: u64,
    /// Most entries (files) in the archive.
    pub max_entries: usize,
    /// Largest `plugin.wasm`.
    pub max_component_bytes: u64,
    /// Largest single file other than the component: each asset, and also `socle.toml`,
    /// `README.md` and `CHANGELOG.md`.
    pub max_asset_bytes: u64,
}

impl Default for PackageLimits {
    /// 32 MiB archive, 96 MiB unpacked, 200 entries, 32 MiB component, 4 MiB per other file.
    fn default() -> Self {
        PackageLimits { max_archive_bytes: 32 * MIB, max_unpacked_bytes: 96 * MIB, max_entries: 200, max_component_bytes: 32 * MIB, max_asset_bytes: 4 * MIB }
    }
}

/// Why a package could not be read, checked or assembled. Each message says what is wrong and
/// what to do about it. Paths quoted from an archive are escaped and shortened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The compressed file is over [`PackageLimits::max_archive_bytes`].
    #[error(
        "the package is {size} bytes, over the limit of {limit} bytes: shrink the component (build \
         in release mode, strip debug information) or the assets"
    )]
    ArchiveTooLarge {
        /// Size of the file.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file does not start with the gzip magic bytes.
    #[error(
        "this is not a .socle package: it is not gzip-compressed; build packages with \
         `socle plugin pack`"
    )]
    NotGzip,
    /// Decompression failed, a header is damaged, or the archive is cut short.
    #[error("the package is corrupt ({detail}): download it again, or rebuild it with `socle plugin pack`")]
    Corrupt {
        /// What was found damaged.
        detail: String,
    },
    /// Bytes follow the gzip stream, or non-zero bytes follow the end of the tar archive.
    #[error(
        "the package has {what}: a .socle file is exactly one gzip stream holding one tar archive; \
         rebuild it with `socle plugin pack` and do not append anything to it"
    )]
    TrailingData {
        /// Where the extra bytes are.
        what: &'static str,
    },
    /// Decompression reached [`PackageLimits::max_unpacked_bytes`].
    #[error(
        "the package unpacks to more than {limit} bytes, the limit: it is either a decompression \
         bomb or too big; shrink the component and the assets"
    )]
    UnpackedTooLarge {
        /// The limit.
        limit: u64,
    },
    /// More entries than [`PackageLimits::max_entries`].
    #[error("the package has more than {limit} files, the limit: bundle fewer assets")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// A header is not a POSIX ustar header (old tar, GNU tar…).
    #[error(
        "entry #{index} of the archive is not a POSIX ustar header ({detail}): build packages with \
         `socle plugin pack`"
    )]
    UnsupportedFormat {
        /// Position of the entry, from 1.
        index: usize,
        /// What is unexpected.
        detail: &'static str,
    },
    /// A symbolic or hard link.
    #[error(
        "`{path}` is a {kind} to `{target}`: a package holds regular files only; put a copy of the \
         file itself in the package"
    )]
    Link {
        /// The entry.
        path: String,
        /// `symbolic link` or `hard link`.
        kind: &'static str,
        /// Where it points.
        target: String,
    },
    /// A directory, device, FIFO, extension header or other entry that is not a regular file.
    #[error("`{path}` is a {kind}: a package holds regular files only; rebuild it with `socle plugin pack`")]
    NotAFile {
        /// The entry.
        path: String,
        /// What it is.
        kind: String,
    },
    /// A path that could escape a destination folder or be read differently by another tool.
    #[error(
        "the path `{path}` is refused because {reason}: package paths are relative, separated by \
         `/`, with no empty, `.` or `..` part; rebuild the package with `socle plugin pack`"
    )]
    UnsafePath {
        /// The path, escaped.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A path longer than [`MAX_PATH_BYTES`].
    #[error("the path `{path}` is {len} bytes, over the limit of {MAX_PATH_BYTES}: shorten the asset's name or folders")]
    PathTooLong {
        /// The path, escaped and shortened.
        path: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A file outside the layout.
    #[error(
        "`{path}` does not belong in a package: a package holds `socle.toml`, `plugin.wasm`, \
         optionally `README.md` and `CHANGELOG.md`, and files under `assets/`; move it under \
         `assets/` or leave it out"
    )]
    UnexpectedFile {
        /// The path, escaped.
        path: String,
    },
    /// An asset whose name uses characters outside the portable set.
    #[error(
        "the asset `{path}` is refused because {reason}: name assets with letters, digits, `-`, \
         `_` and `.` (not first), in folders named the same way"
    )]
    AssetName {
        /// The path, escaped.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An asset whose extension is not in [`ASSET_EXTENSIONS`].
    #[error(
        "the asset `{path}` is not of an allowed type: asset names end in .png, .jpg, .jpeg, .svg, \
         .webp, .md or .txt; convert it or leave it out"
    )]
    AssetType {
        /// The path, escaped.
        path: String,
    },
    /// Two entries with the same path.
    #[error(
        "`{path}` appears more than once in the package, so which copy counts is ambiguous: \
         rebuild the package with `socle plugin pack`"
    )]
    Duplicate {
        /// The path, escaped.
        path: String,
    },
    /// No `socle.toml`.
    #[error(
        "the package has no `socle.toml`: every package carries its manifest at the top level; \
         add it (`socle plugin new` creates one) and pack again"
    )]
    MissingManifest,
    /// No `plugin.wasm`.
    #[error("the package has no `plugin.wasm`: build the component with `socle plugin build` and pack again")]
    MissingComponent,
    /// `plugin.wasm` does not start with [`WASM_MAGIC`].
    #[error(
        "`plugin.wasm` is not WebAssembly (it does not start with `\\0asm`): build the component \
         with `socle plugin build` and pack that"
    )]
    NotWasm,
    /// `plugin.wasm` is over [`PackageLimits::max_component_bytes`].
    #[error(
        "`plugin.wasm` is {size} bytes, over the limit of {limit}: build in release mode, strip \
         debug information (`wasm-tools strip`) or drop dependencies"
    )]
    ComponentTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An asset, the manifest, README or changelog is over [`PackageLimits::max_asset_bytes`].
    #[error("`{path}` is {size} bytes, over the limit of {limit} for a file other than the component: shrink or compress it")]
    FileTooLarge {
        /// The path, escaped.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The manifest, README or changelog is not UTF-8.
    #[error("`{path}` is not valid UTF-8 text: save it as UTF-8 and pack again")]
    NotUtf8 {
        /// The file.
        path: String,
    },
    /// The manifest does not validate.
    #[error("`socle.toml` is invalid: {0}")]
    InvalidManifest(#[source] SchemaError),
    /// [`Package::manifest`] is not what [`Package::manifest_text`] parses to.
    #[error(
        "the package's manifest does not match its `socle.toml` text, and only the text is packed: \
         build `manifest` with `Manifest::parse(&manifest_text)` (or use `Package::from_dir`)"
    )]
    ManifestMismatch,
    /// [`Package::from_dir`] found no `socle.toml`.
    #[error(
        "there is no `socle.toml` in `{}`: run this in the plugin's folder, or create the manifest \
         with `socle plugin new`",
        dir.display()
    )]
    NoManifestInDir {
        /// The folder searched.
        dir: PathBuf,
    },
    /// [`Package::from_dir`] could not read a file or folder.
    #[error("cannot read `{}`: {source}; check that it exists and is readable", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

// ---------------------------------------------------------------------------------------------
// Package

/// The content of a `.socle` package, unpacked and validated.
#[derive(Clone, PartialEq)]
pub struct Package {
    /// The parsed manifest; must be what [`Package::manifest_text`] parses to.
    pub manifest: Manifest,
    /// `socle.toml` as written by the publisher: this is what gets packed and signed.
    pub manifest_text: String,
    /// `plugin.wasm`, the WebAssembly component.
    pub component: Vec<u8>,
    /// `README.md`.
    pub readme: Option<String>,
    /// `CHANGELOG.md`.
    pub changelog: Option<String>,
    /// Files under `assets/`, keyed by their path relative to `assets/` (`icon.svg`,
    /// `screenshots/list.png`).
    pub assets: BTreeMap<String, Vec<u8>>,
}

impl fmt::Debug for Package {
    // The component and assets can be megabytes: show their sizes, not their bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let assets: BTreeMap<&str, usize> = self.assets.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
        f.debug_struct("Package")
            .field("plugin", &format_args!("{}@{}", self.manifest.plugin.id, self.manifest.plugin.version))
            .field("component_bytes", &self.component.len())
            .field("readme_bytes", &self.readme.as_ref().map(String::len))
            .field("changelog_bytes", &self.changelog.as_ref().map(String::len))
            .field("asset_bytes", &assets)
            .finish_non_exhaustive()
    }
}

impl Package {
    /// The package as `.socle` bytes: always the same bytes for the same content.
    ///
    /// Packing does not validate: run [`Package::check`] first on a package assembled by hand
    /// (those from [`Package::from_dir`] and [`Package::unpack`] are checked already). Anything
    /// `check` refuses makes [`Package::unpack`] refuse the archive; an asset path too long for a
    /// ustar header is written empty, which `unpack` refuses too.
    ///
    /// ```
    /// use socle_marketplace::manifest::Manifest;
    /// use socle_marketplace::package::{Package, PackageLimits};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manifest_text = r#"
    /// [plugin]
    /// id = "hello"
    /// version = "1.0.0"
    /// publisher = "acme"
    /// name = "Hello"
    /// description = "Says hello"
    /// api = "^1.0"
    /// "#.to_string();
    /// let package = Package {
    ///     manifest: Manifest::parse(&manifest_text)?,
    ///     manifest_text,
    ///     component: b"\0asm\x0d\0\x01\0".to_vec(),
    ///     readme: Some("# Hello\n".into()),
    ///     changelog: None,
    ///     assets: [("icon.svg".to_string(), b"<svg/>".to_vec())].into(),
    /// };
    /// package.check(&PackageLimits::default())?;
    /// let bytes = package.pack();
    /// assert_eq!(bytes, package.pack(), "reproducible");
    /// assert_eq!(Package::unpack(&bytes, &PackageLimits::default())?, package);
    /// assert_eq!(package.file_name(), "hello-1.0.0.socle");
    /// # Ok(())
    /// # }
    /// ```
    pub fn pack(&self) -> Vec<u8> {
        let mut entries: Vec<(String, &[u8])> = vec![(MANIFEST_FILE.to_string(), self.manifest_text.as_bytes()), (COMPONENT_FILE.to_string(), &self.component)];
        if let Some(readme) = &self.readme {
            entries.push((README_FILE.to_string(), readme.as_bytes()));
        }
        if let Some(changelog) = &self.changelog {
            entries.push((CHANGELOG_FILE.to_string(), changelog.as_bytes()));
        }
        for (path, bytes) in &self.assets {
            entries.push((format!("{ASSETS_DIR}/{path}"), bytes));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));

        let mut gzip = GzBuilder::new().mtime(0).operating_system(GZIP_OS_UNKNOWN).write(Vec::new(), Compression::new(COMPRESSION_LEVEL));
        write_tar(&mut gzip, &entries).and_then(|()| gzip.finish()).expect("compressing into a Vec cannot fail: it has no I/O")
    }

    /// The SHA-256 of [`Package::pack`]'s bytes.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.pack())
    }

    /// Reads and validates `.socle` bytes, within `limits`.
    ///
    /// The bytes are treated as hostile: see the module documentation and [`PackageError`] for
    /// everything refused.
    ///
    /// ```
    /// use socle_marketplace::package::{Package, PackageError, PackageLimits};
    /// let error = Package::unpack(b"PK\x03\x04 a zip file", &PackageLimits::default()).unwrap_err();
    /// assert!(matches!(error, PackageError::NotGzip));
    /// assert!(error.to_string().contains("socle plugin pack"));
    /// ```
    pub fn unpack(bytes: &[u8], limits: &PackageLimits) -> Result<Package, PackageError> {
        let size = bytes.len() as u64;
        if size > limits.max_archive_bytes {
            return Err(PackageError::ArchiveTooLarge { size, limit: limits.max_archive_bytes });
        }
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(PackageError::NotGzip);
        }
        // The `bufread` decoder takes from the slice exactly the bytes of one gzip member, so
        // whatever remains afterwards is trailing data.
        let mut decoder = flate2::bufread::GzDecoder::new(bytes);
        let files = read_tar(&mut Bounded::new(&mut decoder, limits.max_unpacked_bytes), limits)?;
        if !decoder.into_inner().is_empty() {
            return Err(PackageError::TrailingData { what: "data after the end of its gzip stream" });
        }
        files.into_package()
    }

    /// Assembles a package from a plugin's source folder: `dir/socle.toml` (required),
    /// `dir/README.md` and `dir/CHANGELOG.md` (if present) and every file under `dir/assets/`,
    /// recursively; the caller supplies the built component. Files and folders whose name starts
    /// with `.` (such as `.DS_Store`) are skipped; symbolic links are refused, so that the package
    /// does not depend on what they point to. The result is [checked](Package::check) against the
    /// default limits.
    pub fn from_dir(dir: &Path, component: Vec<u8>) -> Result<Package, PackageError> {
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest_text = match read_optional(&manifest_path, MANIFEST_FILE)? {
            Some(text) => text,
            None => return Err(PackageError::NoManifestInDir { dir: dir.to_path_buf() }),
        };
        let manifest = Manifest::parse(&manifest_text).map_err(PackageError::InvalidManifest)?;
        let readme = read_optional(&dir.join(README_FILE), README_FILE)?;
        let changelog = read_optional(&dir.join(CHANGELOG_FILE), CHANGELOG_FILE)?;
        let mut assets = BTreeMap::new();
        let assets_dir = dir.join(ASSETS_DIR);
        match fs::symlink_metadata(&assets_dir) {
            Ok(meta) if meta.is_dir() => collect_assets(&assets_dir, "", &mut assets)?,
            Ok(meta) if meta.file_type().is_symlink() => return Err(link_in_dir(&assets_dir, ASSETS_DIR)),
            Ok(_) => return Err(PackageError::UnexpectedFile { path: ASSETS_DIR.to_string() }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(PackageError::Io { path: assets_dir, source }),
        }
        let package = Package { manifest, manifest_text, component, readme, changelog, assets };
        package.check(&PackageLimits::default())?;
        Ok(package)
    }

    /// Checks everything [`Package::unpack`] would check on the packed bytes, except the size of
    /// the compressed archive: the manifest (and that [`Package::manifest`] matches its text), the
    /// component, asset paths and every size limit.
    pub fn check(&self, limits: &PackageLimits) -> Result<(), PackageError> {
        check_file_size(MANIFEST_FILE, self.manifest_text.len() as u64, limits)?;
        let parsed = Manifest::parse(&self.manifest_text).map_err(PackageError::InvalidManifest)?;
        if parsed != self.manifest {
            return Err(PackageError::ManifestMismatch);
        }
        check_component_size(self.component.len() as u64, limits)?;
        check_component(&self.component)?;
        let mut sizes = vec![self.manifest_text.len(), self.component.len()];
        for (path, text) in [(README_FILE, &self.readme), (CHANGELOG_FILE, &self.changelog)] {
            if let Some(text) = text {
                check_file_size(path, text.len() as u64, limits)?;
                sizes.push(text.len());
            }
        }
        for (path, bytes) in &self.assets {
            let full = format!("{ASSETS_DIR}/{path}");
            check_path(&full)?;
            check_file_size(&full, bytes.len() as u64, limits)?;
            sizes.push(bytes.len());
        }
        if sizes.len() > limits.max_entries {
            return Err(PackageError::TooManyEntries { limit: limits.max_entries });
        }
        // Exactly what `pack` writes: a header and padded data per file, then the end marker.
        let unpacked = sizes.iter().map(|&size| BLOCK as u64 + padded(size as u64)).sum::<u64>() + 2 * BLOCK as u64;
        if unpacked > limits.max_unpacked_bytes {
            return Err(PackageError::UnpackedTooLarge { limit: limits.max_unpacked_bytes });
        }
        Ok(())
    }

    /// The package's file name: `<id>-<version>.socle`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.{PACKAGE_EXTENSION}", self.manifest.plugin.id, self.manifest.plugin.version)
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

fn write_tar(out: &mut impl Write, entries: &[(String, &[u8])]) -> io::Result<()> {
    for (path, data) in entries {
        out.write_all(&ustar_header(path, data.len() as u64))?;
        out.write_all(data)?;
        out.write_all(&[0; BLOCK][..padding(data.len() as u64)])?;
    }
    // End of archive: two zero blocks.
    out.write_all(&[0; 2 * BLOCK])
}

/// A regular-file header with everything but the path and size fixed.
fn ustar_header(path: &str, size: u64) -> [u8; BLOCK] {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(ENTRY_MODE);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    // Written byte for byte rather than with `set_path`, which normalises paths (`a/./b` becomes
    // `a/b`): what is packed must be exactly what `unpack` will judge.
    if let Some(ustar) = header.as_ustar_mut()
        && path.len() <= ustar.name.len()
        && !path.contains('\0')
    {
        ustar.name[..path.len()].copy_from_slice(path.as_bytes());
    }
    header.set_cksum();
    *header.as_bytes()
}

fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

fn padded(size: u64) -> u64 {
    // Saturating: `size` comes from an untrusted header, and a saturated value is refused anyway.
    size.saturating_add(padding(size) as u64)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Counts decompressed bytes and stops at the limit, whatever the archive's headers claim.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    exceeded: bool,
}

impl<R: Read> Bounded<R> {
    fn new(inner: R, limit: u64) -> Self {
        Bounded { inner, read: 0, limit, exceeded: false }
    }

    fn error(&self, error: io::Error) -> PackageError {
        if self.exceeded { PackageError::UnpackedTooLarge { limit: self.limit } } else { PackageError::Corrupt { detail: error.to_string() } }
    }

    /// Fails early when `more` bytes cannot fit, so they are neither decompressed nor allocated.
    fn reserve(&self, more: u64) -> Result<(), PackageError> {
        if self.read.saturating_add(more) > self.limit {
            return Err(PackageError::UnpackedTooLarge { limit: self.limit });
        }
        Ok(())
    }

    /// Fills `buf`; `Ok(false)` if the stream had already ended.
    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<bool, PackageError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(self.error(error)),
            }
        }
        match filled {
            0 if !buf.is_empty() => Ok(false),
            n if n < buf.len() => Err(PackageError::Corrupt { detail: format!("the archive ends in the middle of {what}") }),
            _ => Ok(true),
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.limit - self.read;
        if left == 0 {
            // At the limit, one more byte means over it; none means the stream simply ends here.
            let mut probe = [0; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded = true;
                    Err(io::Error::other("unpacked size limit reached"))
                }
            };
        }
        let allowed = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..allowed])?;
        self.read += n as u64;
        Ok(n)
    }
}

enum Slot {
    Manifest,
    Component,
    Readme,
    Changelog,
    Asset(String),
}

/// What an archive held, before the manifest and component are checked.
#[derive(Default)]
struct Files {
    manifest: Option<Vec<u8>>,
    component: Option<Vec<u8>>,
    readme: Option<Vec<u8>>,
    changelog: Option<Vec<u8>>,
    assets: BTreeMap<String, Vec<u8>>,
}

impl Files {
    fn into_package(self) -> Result<Package, PackageError> {
        let manifest_text = utf8(MANIFEST_FILE, self.manifest.ok_or(PackageError::MissingManifest)?)?;
        let component = self.component.ok_or(PackageError::MissingComponent)?;
        check_component(&component)?;
        let manifest = Manifest::parse(&manifest_text).map_err(PackageError::InvalidManifest)?;
        Ok(Package {
            manifest,
            manifest_text,
            component,
            readme: self.readme.map(|bytes| utf8(README_FILE, bytes)).transpose()?,
            changelog: self.changelog.map(|bytes| utf8(CHANGELOG_FILE, bytes)).transpose()?,
            assets: self.assets,
        })
    }
}

fn read_tar<R: Read>(reader: &mut Bounded<R>, limits: &PackageLimits) -> Result<Files, PackageError> {
    let mut files = Files::default();
    let mut seen = BTreeSet::new();
    let mut block = [0; BLOCK];
    let mut index = 0;
    loop {
        if !reader.fill(&mut block, "a header")? {
            return Err(PackageError::Corrupt { detail: "the archive ends without its end-of-archive marker".into() });
        }
        if block.iter().all(|&b| b == 0) {
            break;
        }
        index += 1;
        if index > limits.max_entries {
            return Err(PackageError::TooManyEntries { limit: limits.max_entries });
        }
        let (path, size) = read_header(&block, index)?;
        let slot = check_path(&path)?;
        if !seen.insert(path.clone()) {
            return Err(PackageError::Duplicate { path: shown(&path) });
        }
        match slot {
            Slot::Component => check_component_size(size, limits)?,
            _ => check_file_size(&path, size, limits)?,
        }
        let data = read_data(reader, size, &path)?;
        match slot {
            Slot::Manifest => files.manifest = Some(data),
            Slot::Component => files.component = Some(data),
            Slot::Readme => files.readme = Some(data),
            Slot::Changelog => files.changelog = Some(data),
            Slot::Asset(name) => {
                files.assets.insert(name, data);
            }
        }
    }
    // After the end marker only zero padding may follow (tar writers pad to a record size), and
    // it is read to the end so that gzip's length and CRC are checked. Reading is bounded, which
    // also stops a bomb made of nothing but zeros.
    let mut chunk = [0; 8 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(reader.error(error)),
        };
        if chunk[..n].iter().any(|&b| b != 0) {
            return Err(PackageError::TrailingData { what: "data after the end of its tar archive" });
        }
    }
    Ok(files)
}

/// The path and size of a regular-file header; refuses every other kind of entry.
fn read_header(block: &[u8; BLOCK], index: usize) -> Result<(String, u64), PackageError> {
    let header = tar::Header::from_byte_slice(block);
    let computed: u32 = block[..148].iter().chain(&block[156..]).map(|&b| u32::from(b)).sum::<u32>() + 8 * u32::from(b' ');
    if header.cksum().ok() != Some(computed) {
        return Err(PackageError::Corrupt { detail: format!("the checksum of header #{index} is wrong") });
    }
    let Some(ustar) = header.as_ustar() else {
        let detail = if header.as_gnu().is_some() { "it is a GNU tar header" } else { "it has no `ustar` magic" };
        return Err(PackageError::UnsupportedFormat { index, detail });
    };
    let mut raw_path = Vec::new();
    let prefix = until_nul(&ustar.prefix);
    if !prefix.is_empty() {
        raw_path.extend_from_slice(prefix);
        raw_path.push(b'/');
    }
    raw_path.extend_from_slice(until_nul(&ustar.name));
    let shown_path = shown(&String::from_utf8_lossy(&raw_path));

    let not_a_file = |kind: &str| PackageError::NotAFile { path: shown_path.clone(), kind: kind.to_string() };
    match ustar.typeflag[0] {
        b'0' | b'\0' => {}
        flag @ (b'1' | b'2') => {
            return Err(PackageError::Link {
                path: shown_path.clone(),
                kind: if flag == b'1' { "hard link" } else { "symbolic link" },
                target: shown(&String::from_utf8_lossy(until_nul(&ustar.linkname))),
            });
        }
        b'3' => return Err(not_a_file("character device")),
        b'4' => return Err(not_a_file("block device")),
        b'5' => return Err(not_a_file("directory")),
        b'6' => return Err(not_a_file("FIFO")),
        b'7' => return Err(not_a_file("contiguous file")),
        b'x' | b'g' => return Err(not_a_file("PAX extended header")),
        b'L' | b'K' => return Err(not_a_file("GNU long name header")),
        other => return Err(not_a_file(&format!("tar entry of type `{}`", char::from(other).escape_default()))),
    }

    let path = String::from_utf8(raw_path).map_err(|_| PackageError::UnsafePath { path: shown_path.clone(), reason: "it is not UTF-8" })?;
    let size = header.entry_size().map_err(|_| PackageError::Corrupt { detail: format!("the size of `{shown_path}` is unreadable") })?;
    Ok((path, size))
}

fn read_data<R: Read>(reader: &mut Bounded<R>, size: u64, path: &str) -> Result<Vec<u8>, PackageError> {
    reader.reserve(padded(size))?;
    // `size` is within the per-file and total limits here, so the allocation is bounded; it grows
    // with the data actually read rather than with what the header claims.
    let mut data = Vec::new();
    if let Err(error) = reader.by_ref().take(size).read_to_end(&mut data) {
        return Err(reader.error(error));
    }
    let what = format!("`{}`", shown(path));
    if (data.len() as u64) < size {
        return Err(PackageError::Corrupt { detail: format!("the archive ends in the middle of {what}") });
    }
    let mut pad = [0; BLOCK];
    reader.fill(&mut pad[..padding(size)], &what)?;
    Ok(data)
}

// ---------------------------------------------------------------------------------------------
// Rules shared by unpacking, checking and `from_dir`

/// Checks a path from an archive (or a package about to be packed) and says where it belongs.
fn check_path(path: &str) -> Result<Slot, PackageError> {
    let unsafe_path = |reason| PackageError::UnsafePath { path: shown(path), reason };
    if path.is_empty() {
        return Err(unsafe_path("it is empty"));
    }
    if path.starts_with('/') {
        return Err(unsafe_path("it is absolute"));
    }
    if path.contains('\\') {
        return Err(unsafe_path("it contains a backslash, which Windows reads as a separator"));
    }
    if path.contains('\0') {
        return Err(unsafe_path("it contains a NUL byte"));
    }
    for part in path.split('/') {
        match part {
            "" => return Err(unsafe_path("it has an empty part (`//` or a trailing `/`)")),
            "." | ".." => return Err(unsafe_path("it has a `.` or `..` part")),
            _ => {}
        }
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(PackageError::PathTooLong { path: shown(path), len: path.len() });
    }
    match path {
        MANIFEST_FILE => Ok(Slot::Manifest),
        COMPONENT_FILE => Ok(Slot::Component),
        README_FILE => Ok(Slot::Readme),
        CHANGELOG_FILE => Ok(Slot::Changelog),
        _ => match path.strip_prefix(ASSETS_DIR).and_then(|rest| rest.strip_prefix('/')) {
            Some(asset) => {
                check_asset_name(path, asset)?;
                Ok(Slot::Asset(asset.to_string()))
            }
            None => Err(PackageError::UnexpectedFile { path: shown(path) }),
        },
    }
}

/// Assets get served by the marketplace and unpacked on every operating system: keep their names
/// to a set that is safe in URLs and file systems everywhere.
fn check_asset_name(path: &str, asset: &str) -> Result<(), PackageError> {
    let refuse = |reason| PackageError::AssetName { path: shown(path), reason };
    for part in asset.split('/') {
        if part.starts_with('.') {
            return Err(refuse("a name starts with `.`"));
        }
        if !part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(refuse("it has a character other than a letter, digit, `-`, `_` or `.`"));
        }
    }
    let extension = asset.rsplit_once('.').map(|(_, extension)| extension).unwrap_or_default();
    if !ASSET_EXTENSIONS.iter().any(|allowed| allowed.eq_ignore_ascii_case(extension)) {
        return Err(PackageError::AssetType { path: shown(path) });
    }
    Ok(())
}

fn check_component(component: &[u8]) -> Result<(), PackageError> {
    if !component.starts_with(WASM_MAGIC) {
        return Err(PackageError::NotWasm);
    }
    Ok(())
}

fn check_component_size(size: u64, limits: &PackageLimits) -> Result<(), PackageError> {
    if size > limits.max_component_bytes {
        return Err(PackageError::ComponentTooLarge { size, limit: limits.max_component_bytes });
    }
    Ok(())
}

fn check_file_size(path: &str, size: u64, limits: &PackageLimits) -> Result<(), PackageError> {
    if size > limits.max_asset_bytes {
        return Err(PackageError::FileTooLarge { path: shown(path), size, limit: limits.max_asset_bytes });
    }
    Ok(())
}

fn utf8(path: &str, bytes: Vec<u8>) -> Result<String, PackageError> {
    String::from_utf8(bytes).map_err(|_| PackageError::NotUtf8 { path: path.to_string() })
}

fn until_nul(field: &[u8]) -> &[u8] {
    field.iter().position(|&b| b == 0).map_or(field, |end| &field[..end])
}

/// A text from an untrusted archive or signature file, made safe to print in an error: control
/// characters escaped, shortened.
pub(crate) fn shown(text: &str) -> String {
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(SHOWN_PATH_CHARS) {
        Some((end, _)) => format!("{}…", &escaped[..end]),
        None => escaped,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a source folder

fn read_optional(path: &Path, name: &str) -> Result<Option<String>, PackageError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(link_in_dir(path, name)),
        Ok(meta) if !meta.is_file() => return Err(PackageError::NotAFile { path: name.to_string(), kind: "directory or special file".into() }),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PackageError::Io { path: path.to_path_buf(), source }),
    }
    let bytes = fs::read(path).map_err(|source| PackageError::Io { path: path.to_path_buf(), source })?;
    utf8(name, bytes).map(Some)
}

fn link_in_dir(path: &Path, name: &str) -> PackageError {
    let target = fs::read_link(path).map(|target| target.display().to_string()).unwrap_or_default();
    PackageError::Link { path: name.to_string(), kind: "symbolic link", target }
}

/// Adds the files under `dir` (which is `assets/<prefix>`) to `assets`, in name order.
fn collect_assets(dir: &Path, prefix: &str, assets: &mut BTreeMap<String, Vec<u8>>) -> Result<(), PackageError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PackageError::Io { path, source }
    };
    let mut entries = fs::read_dir(dir)
        .map_err(io_error(dir))?
        .map(|entry| entry.map(|entry| (entry.file_name(), entry.path())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error(dir))?;
    entries.sort();
    for (name, path) in entries {
        let Some(name) = name.to_str() else {
            let shown_path = shown(&format!("{ASSETS_DIR}/{prefix}{}", name.to_string_lossy()));
            return Err(PackageError::UnsafePath { path: shown_path, reason: "it is not UTF-8" });
        };
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        let in_package = format!("{ASSETS_DIR}/{relative}");
        let meta = fs::symlink_metadata(&path).map_err(io_error(&path))?;
        if meta.file_type().is_symlink() {
            return Err(link_in_dir(&path, &in_package));
        } else if meta.is_dir() {
            collect_assets(&path, &format!("{relative}/"), assets)?;
        } else if meta.is_file() {
            check_path(&in_package)?;
            let limit = PackageLimits::default().max_asset_bytes;
            if meta.len() > limit {
                return Err(PackageError::FileTooLarge { path: in_package, size: meta.len(), limit });
            }
            assets.insert(relative, fs::read(&path).map_err(io_error(&path))?);
        } else {
            return Err(PackageError::NotAFile { path: in_package, kind: "special file".into() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use proptest::prelude::*;

    use super::*;

    const MANIFEST: &str = r#"
[plugin]
id = "hello"
version = "1.0.0"
publisher = "acme"
name = "Hello"
description = "Says hello"
api = "^1.0"
"#;

    const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0 rest of the component";

    fn package() -> Package {
        Package {
            manifest: Manifest::parse(MANIFEST).unwrap(),
            manifest_text: MANIFEST.to_string(),
            component: COMPONENT.to_vec(),
            readme: Some("# Hello\n\nSays hello.\n".into()),
            changelog: Some("## 1.0.0\n\nFirst release.\n".into()),
            assets: [
                ("icon.svg".to_string(), b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec()),
                ("screenshots/list.png".to_string(), vec![0x89, b'P', b'N', b'G', 1, 2, 3]),
                ("screenshots/form.PNG".to_string(), vec![0x89, b'P', b'N', b'G', 4]),
            ]
            .into(),
        }
    }

    fn unpack(bytes: &[u8]) -> Result<Package, PackageError> {
        Package::unpack(bytes, &PackageLimits::default())
    }

    fn gzip(tar: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(tar).unwrap();
        encoder.finish().unwrap()
    }

    /// A ustar header written field by field, bypassing the `tar` crate's own path checks, so
    /// that hostile archives can say anything.
    fn header(path: &[u8], size: u64, kind: u8, link: &[u8]) -> tar::Header {
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(0o644);
        let ustar = header.as_ustar_mut().unwrap();
        ustar.name[..path.len()].copy_from_slice(path);
        ustar.linkname[..link.len()].copy_from_slice(link);
        ustar.typeflag = [kind];
        header.set_cksum();
        header
    }

    /// A hand-built archive: a tar of `build`'s entries, gzip-compressed.
    fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        gzip(&builder.into_inner().unwrap())
    }

    fn file(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        builder.append(&header(path.as_bytes(), data.len() as u64, b'0', b""), data).unwrap();
    }

    /// `socle.toml` and `plugin.wasm`, then `extra`'s entries.
    fn valid_plus(extra: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        archive(|builder| {
            file(builder, MANIFEST_FILE, MANIFEST.as_bytes());
            file(builder, COMPONENT_FILE, COMPONENT);
            extra(builder);
        })
    }

    fn message(error: &PackageError) -> String {
        error.to_string()
    }

    #[test]
    fn pack_is_reproducible() {
        let package = package();
        let bytes = package.pack();
        assert_eq!(bytes, package.pack());
        assert_eq!(bytes, package.clone().pack());
        // gzip header: no flags (so no file name), mtime 0, OS unknown.
        assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(bytes[9], 255);
        assert_eq!(package.digest(), Digest::of(&bytes));
    }

    #[test]
    fn pack_then_unpack_round_trips() {
        let package = package();
        assert_eq!(unpack(&package.pack()).unwrap(), package);

        let minimal = Package { readme: None, changelog: None, assets: BTreeMap::new(), ..package };
        minimal.check(&PackageLimits::default()).unwrap();
        assert_eq!(unpack(&minimal.pack()).unwrap(), minimal);
    }

    #[test]
    fn asset_order_does_not_change_the_bytes() {
        let names = ["z.png", "a.png", "screenshots/b.jpg", "m/n/o.txt", "icon.svg"];
        let mut forward = package();
        let mut backward = package();
        forward.assets.clear();
        backward.assets.clear();
        for name in names {
            forward.assets.insert(name.to_string(), name.as_bytes().to_vec());
        }
        for name in names.iter().rev() {
            backward.assets.insert(name.to_string(), name.as_bytes().to_vec());
        }
        assert_eq!(forward.pack(), backward.pack());
    }

    #[test]
    fn archive_entries_are_sorted_and_normalised() {
        let bytes = package().pack();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut paths = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert!(header.as_ustar().is_some());
            assert_eq!(header.entry_type(), tar::EntryType::Regular);
            assert_eq!(header.mode().unwrap(), 0o644);
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            assert_eq!(header.username_bytes(), Some(&b""[..]));
            assert_eq!(header.groupname_bytes(), Some(&b""[..]));
            paths.push(String::from_utf8(entry.path_bytes().into_owned()).unwrap());
        }
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        assert_eq!(
            paths,
            ["CHANGELOG.md", "README.md", "assets/icon.svg", "assets/screenshots/form.PNG", "assets/screenshots/list.png", "plugin.wasm", "socle.toml"]
        );
    }

    proptest! {
        #[test]
        fn any_component_readme_and_assets_round_trip(
            body in proptest::collection::vec(any::<u8>(), 0..3000),
            readme in proptest::option::of(any::<String>()),
            assets in proptest::collection::btree_map("[a-z0-9_-]{1,12}(/[a-z0-9_-]{1,12})?\\.(png|txt|svg)", proptest::collection::vec(any::<u8>(), 0..600), 0..4),
        ) {
            let mut component = WASM_MAGIC.to_vec();
            component.extend(body);
            let package = Package { component, readme, assets, ..package() };
            let bytes = package.pack();
            prop_assert_eq!(&bytes, &package.pack());
            prop_assert_eq!(unpack(&bytes).unwrap(), package);
        }
    }

    #[test]
    fn from_dir_reads_the_layout() {
        let dir = TempDir::new("from_dir");
        fs::write(dir.0.join(MANIFEST_FILE), MANIFEST).unwrap();
        fs::write(dir.0.join(README_FILE), "# Hello\n").unwrap();
        fs::create_dir_all(dir.0.join("assets/screenshots")).unwrap();
        fs::write(dir.0.join("assets/icon.svg"), "<svg/>").unwrap();
        fs::write(dir.0.join("assets/screenshots/b.png"), "b").unwrap();
        fs::write(dir.0.join("assets/screenshots/a.png"), "a").unwrap();
        fs::write(dir.0.join("assets/.DS_Store"), "junk").unwrap();
        fs::write(dir.0.join("Cargo.toml"), "[package]").unwrap();
        let package = Package::from_dir(&dir.0, COMPONENT.to_vec()).unwrap();
        assert_eq!(package.manifest.plugin.id, "hello");
        assert_eq!(package.readme.as_deref(), Some("# Hello\n"));
        assert_eq!(package.changelog, None);
        assert_eq!(package.assets.keys().collect::<Vec<_>>(), ["icon.svg", "screenshots/a.png", "screenshots/b.png"]);
        assert_eq!(unpack(&package.pack()).unwrap(), package);

        fs::write(dir.0.join("assets/notes.exe"), "MZ").unwrap();
        let error = Package::from_dir(&dir.0, COMPONENT.to_vec()).unwrap_err();
        assert!(matches!(&error, PackageError::AssetType { path } if path == "assets/notes.exe"), "{error:?}");
        assert!(message(&error).contains(".png"));
        fs::remove_file(dir.0.join("assets/notes.exe")).unwrap();

        let error = Package::from_dir(&dir.0, b"not wasm".to_vec()).unwrap_err();
        assert!(matches!(error, PackageError::NotWasm), "{error:?}");

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", dir.0.join("assets/passwd.txt")).unwrap();
            let error = Package::from_dir(&dir.0, COMPONENT.to_vec()).unwrap_err();
            assert!(matches!(&error, PackageError::Link { path, .. } if path == "assets/passwd.txt"), "{error:?}");
            assert!(message(&error).contains("/etc/passwd"));
        }
    }

    #[test]
    fn from_dir_needs_a_manifest() {
        let dir = TempDir::new("no_manifest");
        let error = Package::from_dir(&dir.0, COMPONENT.to_vec()).unwrap_err();
        assert!(matches!(error, PackageError::NoManifestInDir { .. }), "{error:?}");
        assert!(message(&error).contains("socle plugin new"));

        fs::write(dir.0.join(MANIFEST_FILE), "[plugin]\nid = \"x\"\n").unwrap();
        let error = Package::from_dir(&dir.0, COMPONENT.to_vec()).unwrap_err();
        assert!(matches!(error, PackageError::InvalidManifest(_)), "{error:?}");
        assert!(message(&error).starts_with("`socle.toml` is invalid"));
    }

    #[test]
    fn check_refuses_what_unpack_would() {
        let limits = PackageLimits::default();
        let mut package = package();
        package.manifest.plugin.id = "other".into();
        assert!(matches!(package.check(&limits), Err(PackageError::ManifestMismatch)));

        let mut package = self::package();
        package.assets.insert("../escape.png".into(), vec![1]);
        let error = package.check(&limits).unwrap_err();
        assert!(matches!(error, PackageError::UnsafePath { .. }), "{error:?}");
        // Packing does not validate, but what it writes is refused on the way back in.
        let error = unpack(&package.pack()).unwrap_err();
        assert!(matches!(error, PackageError::UnsafePath { .. }), "{error:?}");

        let mut package = self::package();
        package.assets.insert(format!("{}.png", "a".repeat(200)), vec![1]);
        assert!(matches!(package.check(&limits), Err(PackageError::PathTooLong { len: 211, .. })));
        let error = unpack(&package.pack()).unwrap_err();
        assert!(matches!(error, PackageError::UnsafePath { reason: "it is empty", .. }), "{error:?}");

        let tight = PackageLimits { max_unpacked_bytes: 4096, ..PackageLimits::default() };
        let error = self::package().check(&tight).unwrap_err();
        assert!(matches!(error, PackageError::UnpackedTooLarge { limit: 4096 }), "{error:?}");
        let exact = self::package().pack();
        let mut decompressed = Vec::new();
        flate2::read::GzDecoder::new(&exact[..]).read_to_end(&mut decompressed).unwrap();
        let just_enough = PackageLimits { max_unpacked_bytes: decompressed.len() as u64, ..PackageLimits::default() };
        self::package().check(&just_enough).unwrap();
        Package::unpack(&exact, &just_enough).unwrap();
        let one_short = PackageLimits { max_unpacked_bytes: decompressed.len() as u64 - 1, ..PackageLimits::default() };
        assert!(self::package().check(&one_short).is_err());
        assert!(matches!(Package::unpack(&exact, &one_short), Err(PackageError::UnpackedTooLarge { .. })));
    }

    #[test]
    fn file_name_is_id_and_version() {
        assert_eq!(package().file_name(), "hello-1.0.0.socle");
    }

    // --- hostile archives ------------------------------------------------------------------------

    #[test]
    fn refuses_parent_traversal() {
        let error = unpack(&valid_plus(|b| file(b, "../x", b"x"))).unwrap_err();
        assert!(matches!(&error, PackageError::UnsafePath { path, .. } if path == "../x"), "{error:?}");
        assert!(message(&error).contains("`..`"));
        let error = unpack(&valid_plus(|b| file(b, "assets/../../x.png", b"x"))).unwrap_err();
        assert!(matches!(error, PackageError::UnsafePath { .. }), "{error:?}");
    }

    #[test]
    fn refuses_absolute_paths() {
        let error = unpack(&valid_plus(|b| file(b, "/etc/passwd", b"root"))).unwrap_err();
        assert!(matches!(&error, PackageError::UnsafePath { path, reason: "it is absolute" } if path == "/etc/passwd"), "{error:?}");
        assert!(message(&error).contains("relative"));
    }

    #[test]
    fn refuses_backslashes_empty_parts_and_dots() {
        for path in ["assets\\icon.png", "assets//icon.png", "assets/./icon.png", "assets/", "./socle.toml"] {
            let error = unpack(&valid_plus(|b| file(b, path, b"x"))).unwrap_err();
            assert!(matches!(error, PackageError::UnsafePath { .. }), "{path}: {error:?}");
        }
    }

    #[test]
    fn refuses_non_utf8_names() {
        let bytes = valid_plus(|b| b.append(&header(b"assets/\xff.png", 1, b'0', b""), &b"x"[..]).unwrap());
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(&error, PackageError::UnsafePath { reason: "it is not UTF-8", .. }), "{error:?}");
        assert!(message(&error).contains("assets/\u{fffd}.png"));
    }

    #[test]
    fn refuses_symbolic_links() {
        let bytes = valid_plus(|b| b.append(&header(b"assets/icon.png", 0, b'2', b"/etc/passwd"), io::empty()).unwrap());
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(&error, PackageError::Link { kind: "symbolic link", target, .. } if target == "/etc/passwd"), "{error:?}");
        assert!(message(&error).contains("regular files only"));
    }

    #[test]
    fn refuses_hard_links() {
        let bytes = valid_plus(|b| b.append(&header(b"README.md", 0, b'1', b"socle.toml"), io::empty()).unwrap());
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(&error, PackageError::Link { kind: "hard link", path, .. } if path == "README.md"), "{error:?}");
    }

    #[test]
    fn refuses_directories_devices_and_extension_headers() {
        for (kind, name) in [
            (b'5', "directory"),
            (b'3', "character device"),
            (b'4', "block device"),
            (b'6', "FIFO"),
            (b'x', "PAX extended header"),
            (b'L', "GNU long name header"),
        ] {
            let bytes = valid_plus(|b| b.append(&header(b"assets/thing.png", 0, kind, b""), io::empty()).unwrap());
            let error = unpack(&bytes).unwrap_err();
            assert!(matches!(&error, PackageError::NotAFile { kind, .. } if kind == name), "{error:?}");
            assert!(message(&error).contains("regular files only"));
        }
    }

    #[test]
    fn refuses_duplicates() {
        let error = unpack(&valid_plus(|b| file(b, MANIFEST_FILE, MANIFEST.as_bytes()))).unwrap_err();
        assert!(matches!(&error, PackageError::Duplicate { path } if path == "socle.toml"), "{error:?}");
        assert!(message(&error).contains("more than once"));
    }

    #[test]
    fn refuses_files_outside_the_layout() {
        for path in ["install.sh", "src/lib.rs", "readme.md", "assets"] {
            let error = unpack(&valid_plus(|b| file(b, path, b"x"))).unwrap_err();
            assert!(matches!(&error, PackageError::UnexpectedFile { path: p } if p == path), "{error:?}");
            assert!(message(&error).contains("assets/"));
        }
        let error = unpack(&valid_plus(|b| file(b, "assets/run.sh", b"x"))).unwrap_err();
        assert!(matches!(error, PackageError::AssetType { .. }), "{error:?}");
        let error = unpack(&valid_plus(|b| file(b, "assets/my icon.png", b"x"))).unwrap_err();
        assert!(matches!(error, PackageError::AssetName { .. }), "{error:?}");
        let error = unpack(&valid_plus(|b| file(b, "assets/.hidden.png", b"x"))).unwrap_err();
        assert!(matches!(error, PackageError::AssetName { .. }), "{error:?}");
    }

    #[test]
    fn refuses_a_decompression_bomb() {
        // 200 MiB of zeros compress to about 200 KiB.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        let zeros = vec![0; 1024 * 1024];
        for _ in 0..200 {
            encoder.write_all(&zeros).unwrap();
        }
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 1024 * 1024);
        let error = unpack(&bomb).unwrap_err();
        assert!(matches!(error, PackageError::UnpackedTooLarge { limit } if limit == 96 * MIB), "{error:?}");
        assert!(message(&error).contains("decompression bomb"));
    }

    #[test]
    fn refuses_files_that_add_up_past_the_unpacked_limit() {
        let limits = PackageLimits { max_unpacked_bytes: 64 * 1024, max_asset_bytes: 16 * 1024, ..PackageLimits::default() };
        let bytes = valid_plus(|b| {
            for i in 0..10 {
                file(b, &format!("assets/{i}.txt"), &[b'a'; 10 * 1024]);
            }
        });
        let error = Package::unpack(&bytes, &limits).unwrap_err();
        assert!(matches!(error, PackageError::UnpackedTooLarge { limit: 65536 }), "{error:?}");
    }

    #[test]
    fn refuses_a_header_claiming_a_huge_size_before_reading_it() {
        // The header says 1 TiB; only the header is there. Refused on the claim alone.
        let bytes = valid_plus(|b| {
            let header = header(b"assets/huge.png", 1 << 40, b'0', b"");
            b.get_mut().extend_from_slice(header.as_bytes());
        });
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(error, PackageError::FileTooLarge { size, .. } if size == 1 << 40), "{error:?}");
        let limits = PackageLimits { max_asset_bytes: u64::MAX, ..PackageLimits::default() };
        let error = Package::unpack(&bytes, &limits).unwrap_err();
        assert!(matches!(error, PackageError::UnpackedTooLarge { .. }), "{error:?}");
    }

    #[test]
    fn refuses_too_many_entries() {
        let bytes = valid_plus(|b| {
            for i in 0..199 {
                file(b, &format!("assets/{i:03}.txt"), b"x");
            }
        });
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(error, PackageError::TooManyEntries { limit: 200 }), "{error:?}");
        assert!(message(&error).contains("fewer assets"));
    }

    #[test]
    fn refuses_an_archive_over_the_size_limit_without_reading_it() {
        let limits = PackageLimits { max_archive_bytes: 100, ..PackageLimits::default() };
        let bytes = package().pack();
        let error = Package::unpack(&bytes, &limits).unwrap_err();
        assert!(matches!(error, PackageError::ArchiveTooLarge { limit: 100, .. }), "{error:?}");
        // Not even the gzip magic is looked at.
        let error = Package::unpack(&[b'x'; 101], &limits).unwrap_err();
        assert!(matches!(error, PackageError::ArchiveTooLarge { size: 101, .. }), "{error:?}");
    }

    #[test]
    fn refuses_what_is_not_gzip_or_has_trailing_data() {
        let error = unpack(b"").unwrap_err();
        assert!(matches!(error, PackageError::NotGzip), "{error:?}");
        let mut plain_tar = tar::Builder::new(Vec::new());
        file(&mut plain_tar, MANIFEST_FILE, MANIFEST.as_bytes());
        let error = unpack(&plain_tar.into_inner().unwrap()).unwrap_err();
        assert!(matches!(error, PackageError::NotGzip), "{error:?}");

        let mut bytes = package().pack();
        bytes.extend_from_slice(b"garbage");
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(error, PackageError::TrailingData { what } if what.contains("gzip")), "{error:?}");
        assert!(message(&error).contains("socle plugin pack"));

        let mut twice = package().pack();
        twice.extend(package().pack());
        assert!(matches!(unpack(&twice), Err(PackageError::TrailingData { .. })));

        let bytes = archive(|b| {
            file(b, MANIFEST_FILE, MANIFEST.as_bytes());
            file(b, COMPONENT_FILE, COMPONENT);
            b.get_mut().extend_from_slice(&[0; 1024]);
            file(b, "assets/hidden.png", b"after the end");
        });
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(error, PackageError::TrailingData { what } if what.contains("tar")), "{error:?}");
    }

    #[test]
    fn refuses_corrupt_archives() {
        let bytes = package().pack();
        let error = unpack(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(matches!(error, PackageError::Corrupt { .. }), "{error:?}");
        assert!(message(&error).contains("download it again"));

        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x55;
        assert!(unpack(&flipped).is_err());

        // A header whose checksum does not match.
        let mut tar = Vec::new();
        let mut bad = header(MANIFEST_FILE.as_bytes(), MANIFEST.len() as u64, b'0', b"");
        bad.as_mut_bytes()[0] = b'S';
        tar.extend_from_slice(bad.as_bytes());
        tar.extend_from_slice(&[0; 2048]);
        let error = unpack(&gzip(&tar)).unwrap_err();
        assert!(matches!(&error, PackageError::Corrupt { detail } if detail.contains("checksum")), "{error:?}");

        // Cut short: no end-of-archive marker, and cut inside a file.
        let mut tar = Vec::new();
        tar.extend_from_slice(header(MANIFEST_FILE.as_bytes(), MANIFEST.len() as u64, b'0', b"").as_bytes());
        let error = unpack(&gzip(&tar)).unwrap_err();
        assert!(matches!(&error, PackageError::Corrupt { detail } if detail.contains("socle.toml")), "{error:?}");
        tar.extend_from_slice(MANIFEST.as_bytes());
        tar.resize(1024, 0);
        let error = unpack(&gzip(&tar)).unwrap_err();
        assert!(matches!(&error, PackageError::Corrupt { detail } if detail.contains("end-of-archive")), "{error:?}");
    }

    #[test]
    fn refuses_gnu_and_old_headers() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut gnu = tar::Header::new_gnu();
        gnu.set_path(MANIFEST_FILE).unwrap();
        gnu.set_size(MANIFEST.len() as u64);
        gnu.set_cksum();
        builder.append(&gnu, MANIFEST.as_bytes()).unwrap();
        let error = unpack(&gzip(&builder.into_inner().unwrap())).unwrap_err();
        assert!(matches!(error, PackageError::UnsupportedFormat { index: 1, detail: "it is a GNU tar header" }), "{error:?}");
    }

    #[test]
    fn refuses_missing_files() {
        let error = unpack(&archive(|b| file(b, COMPONENT_FILE, COMPONENT))).unwrap_err();
        assert!(matches!(error, PackageError::MissingManifest), "{error:?}");
        assert!(message(&error).contains("socle.toml"));
        let error = unpack(&archive(|b| file(b, MANIFEST_FILE, MANIFEST.as_bytes()))).unwrap_err();
        assert!(matches!(error, PackageError::MissingComponent), "{error:?}");
        assert!(message(&error).contains("socle plugin build"));
    }

    #[test]
    fn refuses_a_component_that_is_not_wasm() {
        let bytes = archive(|b| {
            file(b, MANIFEST_FILE, MANIFEST.as_bytes());
            file(b, COMPONENT_FILE, b"#!/bin/sh\nrm -rf /\n");
        });
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(error, PackageError::NotWasm), "{error:?}");
        assert!(message(&error).contains("\\0asm"));
    }

    #[test]
    fn refuses_files_over_their_limit() {
        let limits = PackageLimits { max_component_bytes: 16, max_asset_bytes: 8, ..PackageLimits::default() };
        let error = Package::unpack(&package().pack(), &limits).unwrap_err();
        assert!(matches!(error, PackageError::FileTooLarge { .. } | PackageError::ComponentTooLarge { .. }), "{error:?}");

        let limits = PackageLimits { max_component_bytes: 16, ..PackageLimits::default() };
        let error = Package::unpack(&package().pack(), &limits).unwrap_err();
        assert!(matches!(error, PackageError::ComponentTooLarge { limit: 16, .. }), "{error:?}");
        assert!(message(&error).contains("release mode"));

        let mut package = package();
        package.assets.insert("big.png".into(), vec![0; 5 * 1024 * 1024]);
        let error = unpack(&package.pack()).unwrap_err();
        assert!(matches!(&error, PackageError::FileTooLarge { path, .. } if path == "assets/big.png"), "{error:?}");
        assert!(matches!(package.check(&PackageLimits::default()), Err(PackageError::FileTooLarge { .. })));
    }

    #[test]
    fn refuses_text_that_is_not_utf8() {
        let bytes = valid_plus(|b| file(b, README_FILE, b"caf\xe9"));
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(&error, PackageError::NotUtf8 { path } if path == "README.md"), "{error:?}");
        assert!(message(&error).contains("UTF-8"));
        let bytes = archive(|b| {
            file(b, MANIFEST_FILE, b"[plugin]\nname = \"caf\xe9\"\n");
            file(b, COMPONENT_FILE, COMPONENT);
        });
        assert!(matches!(unpack(&bytes), Err(PackageError::NotUtf8 { path }) if path == "socle.toml"));
    }

    #[test]
    fn refuses_an_invalid_manifest() {
        let bytes = archive(|b| {
            file(b, MANIFEST_FILE, MANIFEST.replace("1.0.0", "one").as_bytes());
            file(b, COMPONENT_FILE, COMPONENT);
        });
        let error = unpack(&bytes).unwrap_err();
        assert!(matches!(error, PackageError::InvalidManifest(_)), "{error:?}");
        assert!(message(&error).starts_with("`socle.toml` is invalid: "), "{error}");
    }

    #[test]
    fn error_messages_escape_hostile_paths() {
        let error = unpack(&valid_plus(|b| file(b, "evil\x1b[2J.sh", b"x"))).unwrap_err();
        assert!(!message(&error).contains('\x1b'), "{error}");
        assert!(message(&error).contains("evil\\u{1b}[2J.sh"), "{error}");
    }

    // --- digests -----------------------------------------------------------------------------------

    #[test]
    fn digest_text_and_serde() {
        let digest = Digest::of(b"abc");
        let text = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(digest.to_string(), text);
        assert_eq!(digest.hex(), &text[7..]);
        assert_eq!(text.parse::<Digest>().unwrap(), digest);
        assert_eq!(format!("{digest:?}"), format!("Digest({text})"));
        assert_eq!(serde_json::to_string(&digest).unwrap(), format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Digest>(&format!("\"{text}\"")).unwrap(), digest);
        assert_eq!(Digest::from_bytes(*digest.as_bytes()), digest);

        for bad in [&text[7..], &text[..70], &text.to_uppercase().replace("SHA256", "sha256"), "sha512:00", "sha256:zz"] {
            let error = bad.parse::<Digest>().unwrap_err();
            assert!(error.to_string().contains("64 lowercase hex digits"), "{error}");
        }
        assert!(serde_json::from_str::<Digest>("\"sha256:00\"").is_err());
    }

    /// A fresh folder under the system's temporary folder, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("socle-package-test-{}-{name}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
