//! Validation of uploaded branding images: the type comes from the bytes (never the client's
//! claim), sizes are bounded, and SVG files with active content are refused.

use socle_tenants::{AssetKind, ValidationError};

/// Largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
/// Largest favicon accepted.
pub const MAX_FAVICON_BYTES: usize = 128 * 1024;

/// Checks an uploaded image and returns its MIME type.
pub fn validate_image(kind: AssetKind, bytes: &[u8]) -> Result<&'static str, ValidationError> {
    let field = kind.as_str();
    let max = match kind {
        AssetKind::Logo => MAX_LOGO_BYTES,
        AssetKind::Favicon => MAX_FAVICON_BYTES,
    };
    if bytes.is_empty() {
        return Err(ValidationError::new(field, "the file is empty"));
    }
    if bytes.len() > max {
        return Err(ValidationError::new(field, format!("the file is {} KiB; the limit is {} KiB", bytes.len() / 1024, max / 1024)));
    }
    let sniffed = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else if bytes.starts_with(&[0, 0, 1, 0]) {
        "image/x-icon"
    } else if looks_like_svg(bytes) {
        check_svg(field, bytes)?;
        "image/svg+xml"
    } else {
        return Err(ValidationError::new(field, "is not a PNG, JPEG, WebP, ICO or SVG image"));
    };
    Ok(sniffed)
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    head.trim_start().starts_with("<svg") || (head.trim_start().starts_with("<?xml") && head.contains("<svg"))
}

fn check_svg(field: &str, bytes: &[u8]) -> Result<(), ValidationError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ValidationError::new(field, "the SVG is not valid UTF-8"))?.to_ascii_lowercase();
    let active = ["<script", "javascript:", "<foreignobject", "<iframe", "<embed", "<object", "xlink:href=\"http", "href=\"http", "<!entity"];
    if let Some(found) = active.iter().find(|p| text.contains(*p)) {
        return Err(ValidationError::new(field, format!("the SVG contains `{found}`; remove scripts, external references and embedded content")));
    }
    // Event handler attributes: on<letters>=
    let handler = regex::Regex::new(r#"\son[a-z]+\s*="#).map_err(|_| ValidationError::new(field, "internal check failed"))?;
    if handler.is_match(&text) {
        return Err(ValidationError::new(field, "the SVG contains event handler attributes (onload=…); remove them"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_types_from_bytes_and_refuses_active_svg() {
        assert_eq!(validate_image(AssetKind::Logo, b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(validate_image(AssetKind::Logo, br#"<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>"#).unwrap(), "image/svg+xml");
        assert!(validate_image(AssetKind::Logo, b"<svg><script>alert(1)</script></svg>").is_err());
        assert!(validate_image(AssetKind::Logo, br#"<svg onload="alert(1)"></svg>"#).is_err());
        assert!(validate_image(AssetKind::Logo, b"GIF89a").is_err());
        assert!(validate_image(AssetKind::Favicon, &vec![0u8; MAX_FAVICON_BYTES + 1]).is_err());
        assert!(validate_image(AssetKind::Logo, b"").is_err());
    }
}
