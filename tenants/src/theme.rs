use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A colour written `#rrggbb`. Only this form is accepted, so a theme can never smuggle CSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color([u8; 3]);

impl Color {
    /// Parses `#rrggbb` (or `#rgb`), case-insensitive.
    ///
    /// ```
    /// use socle_tenants::Color;
    /// assert_eq!(Color::parse("#0A7").unwrap().to_string(), "#00aa77");
    /// assert!(Color::parse("red").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let hex = value.trim().strip_prefix('#').filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        let channel = |s: &str| u8::from_str_radix(s, 16).ok();
        let rgb = match hex {
            Some(h) if h.len() == 6 => (|| Some([channel(&h[0..2])?, channel(&h[2..4])?, channel(&h[4..6])?]))(),
            Some(h) if h.len() == 3 => {
                let double = |c: &str| channel(&c.repeat(2));
                (|| Some([double(&h[0..1])?, double(&h[1..2])?, double(&h[2..3])?]))()
            }
            _ => None,
        };
        rgb.map(Self).ok_or_else(|| ValidationError::new("color", format!("`{value}` is not a colour; write it as #rrggbb, e.g. #1f6feb")))
    }

    /// Builds a colour from its channels.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self([r, g, b])
    }

    /// WCAG 2.1 relative luminance.
    pub fn luminance(&self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        let [r, g, b] = self.0;
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// WCAG 2.1 contrast ratio between two colours (1.0 to 21.0).
    pub fn contrast(&self, other: &Color) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// White or near-black, whichever reads better on this colour.
    pub fn readable_text(&self) -> Color {
        let white = Color::rgb(255, 255, 255);
        let ink = Color::rgb(17, 24, 39);
        if self.contrast(&white) >= self.contrast(&ink) { white } else { ink }
    }

    /// This colour as a background with its text colour, the background darkened (under white
    /// text) or lightened (under dark text) just enough for the pair to reach `min` contrast
    /// (4.5 for WCAG AA body text): a badge keeps its hue and stays readable.
    ///
    /// ```
    /// use socle_tenants::Color;
    /// let (bg, text) = Color::parse("#2980b9").unwrap().legible(4.5);
    /// assert!(bg.contrast(&text) >= 4.5);
    /// let (bg, _) = Color::parse("#111827").unwrap().legible(4.5);
    /// assert_eq!(bg.to_string(), "#111827", "already readable: unchanged");
    /// ```
    pub fn legible(&self, min: f64) -> (Color, Color) {
        let text = self.readable_text();
        let toward: u8 = if text == Color::rgb(255, 255, 255) { 0 } else { 255 };
        let mut bg = *self;
        for step in 1..=20u16 {
            if bg.contrast(&text) >= min {
                break;
            }
            let mix = |c: u8| {
                let (c, t) = (u16::from(c), u16::from(toward));
                u8::try_from((c * (20 - step) + t * step) / 20).unwrap_or(toward)
            };
            let [r, g, b] = self.0;
            bg = Color::rgb(mix(r), mix(g), mix(b));
        }
        (bg, text)
    }

    /// This colour as text on every one of `backgrounds`, darkened (on light backgrounds) or
    /// lightened (on dark ones) just enough to reach `min` contrast on each: a brand colour kept
    /// as close to its hue as readability allows. Unchanged when it already reads well.
    ///
    /// ```
    /// use socle_tenants::Color;
    /// let white = Color::rgb(255, 255, 255);
    /// let yellow = Color::parse("#f1c40f").unwrap();
    /// let link = yellow.readable_on(&[white], 4.5);
    /// assert!(link.contrast(&white) >= 4.5);
    /// let blue = Color::parse("#1f4ed8").unwrap();
    /// assert_eq!(blue.readable_on(&[white], 4.5), blue, "already readable: unchanged");
    /// ```
    pub fn readable_on(&self, backgrounds: &[Color], min: f64) -> Color {
        let reads = |c: &Color| backgrounds.iter().all(|bg| c.contrast(bg) >= min);
        if reads(self) || backgrounds.is_empty() {
            return *self;
        }
        // Light backgrounds want darker text, dark ones lighter text.
        let light = backgrounds.iter().map(Color::luminance).sum::<f64>() / backgrounds.len() as f64 > 0.18;
        let toward: u16 = if light { 0 } else { 255 };
        let [r, g, b] = self.0;
        let mut out = *self;
        for step in 1..=40u16 {
            let mix = |c: u8| u8::try_from((u16::from(c) * (40 - step) + toward * step) / 40).unwrap_or(0);
            out = Color::rgb(mix(r), mix(g), mix(b));
            if reads(&out) {
                break;
            }
        }
        out
    }
}

impl TryFrom<String> for Color {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Color> for String {
    fn from(c: Color) -> Self {
        c.to_string()
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

/// Where a brand colour falls short of WCAG AA contrast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContrastUse {
    /// The colour as the text of links on the page's backgrounds.
    Links,
    /// The colour behind its own text (the header bar, buttons, tags).
    Background,
}

/// A brand colour that does not reach WCAG AA contrast (4.5:1 for text) where the portal uses it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ContrastWarning {
    /// The theme field at fault (`theme.primary`).
    pub field: &'static str,
    /// Where it is used.
    pub kind: ContrastUse,
    /// The colour.
    pub color: Color,
    /// What it is read against (the background for links, the text for a background).
    pub on: Color,
    /// Its contrast ratio there (1.0 to 21.0).
    pub ratio: f64,
    /// The nearest colour of the same hue that reads well: what the portal shows instead (links)
    /// or what the administrator could choose.
    pub adjusted: Color,
}

/// Font stacks a tenant may choose. System stacks only: the portal never loads fonts from a
/// third party, so it works offline and leaks nothing about its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FontFamily {
    /// The operating system's interface font.
    #[default]
    System,
    /// A humanist sans-serif stack.
    Humanist,
    /// A geometric sans-serif stack.
    Geometric,
    /// A classic serif stack.
    Serif,
    /// A monospace stack.
    Mono,
}

impl FontFamily {
    /// Every choice, for forms.
    pub const ALL: [FontFamily; 5] = [Self::System, Self::Humanist, Self::Geometric, Self::Serif, Self::Mono];

    /// The CSS `font-family` value.
    pub fn css_stack(&self) -> &'static str {
        match self {
            Self::System => "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
            Self::Humanist => "Seravek, 'Gill Sans Nova', Ubuntu, Calibri, 'DejaVu Sans', source-sans-pro, sans-serif",
            Self::Geometric => "Avenir, Montserrat, Corbel, 'URW Gothic', source-sans-pro, sans-serif",
            Self::Serif => "Charter, 'Bitstream Charter', 'Sitka Text', Cambria, Georgia, serif",
            Self::Mono => "ui-monospace, 'Cascadia Code', 'Source Code Pro', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
        }
    }

    /// The key as stored (`system`, `humanist`…).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Humanist => "humanist",
            Self::Geometric => "geometric",
            Self::Serif => "serif",
            Self::Mono => "mono",
        }
    }
}

/// A tenant's design tokens. Rendered as CSS custom properties on every page and mail, so a brand
/// changes its look without touching a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThemeTokens {
    /// Main brand colour: header, primary buttons, links.
    pub primary: Color,
    /// Secondary brand colour: accents, selected rows.
    pub secondary: Color,
    /// Page background.
    pub background: Color,
    /// Cards and panels.
    pub surface: Color,
    /// Body text.
    pub text: Color,
    /// Body font.
    pub font_body: FontFamily,
    /// Heading font.
    pub font_heading: FontFamily,
    /// Corner radius of controls, in pixels (0 to 24).
    pub radius_px: u8,
}

impl Default for ThemeTokens {
    fn default() -> Self {
        Self {
            primary: Color::rgb(0x1f, 0x4e, 0xd8),
            secondary: Color::rgb(0x0e, 0x9f, 0x6e),
            background: Color::rgb(0xf7, 0xf8, 0xfa),
            surface: Color::rgb(0xff, 0xff, 0xff),
            text: Color::rgb(0x11, 0x18, 0x27),
            font_body: FontFamily::System,
            font_heading: FontFamily::System,
            radius_px: 6,
        }
    }
}

impl ThemeTokens {
    /// Checks the tokens keep the portal usable: body text must reach WCAG AA contrast (4.5:1) on
    /// the background and on surfaces, and the radius must stay within 0 to 24 px.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.radius_px > 24 {
            return Err(ValidationError::new("theme.radius_px", "must be between 0 and 24"));
        }
        for (field, bg) in [("theme.background", self.background), ("theme.surface", self.surface)] {
            let ratio = self.text.contrast(&bg);
            if ratio < 4.5 {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "text colour {} on {} has a contrast of {ratio:.1}:1; WCAG AA needs 4.5:1 — darken the text or lighten the background",
                        self.text, bg
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The colour links and other primary-coloured text take: the primary colour, darkened just
    /// enough to read on the background and on surfaces (WCAG AA, 4.5:1). A light brand colour
    /// (a yellow) keeps its place in bars and buttons, whose text colour adapts, while links stay
    /// readable.
    pub fn link_color(&self) -> Color {
        self.primary.readable_on(&[self.background, self.surface], 4.5)
    }

    /// The brand colours that do not reach WCAG AA contrast where the portal uses them, worst
    /// first. Not refused (a brand is the tenant's choice, and the portal compensates: see
    /// [`ThemeTokens::link_color`]), but worth a clear warning to the administrator.
    pub fn contrast_warnings(&self) -> Vec<ContrastWarning> {
        let mut warnings = Vec::new();
        // The primary colour as the text of links, on the lighter or darker of the two backgrounds
        // (whichever reads worse).
        let worst_bg = if self.primary.contrast(&self.surface) <= self.primary.contrast(&self.background) { self.surface } else { self.background };
        let ratio = self.primary.contrast(&worst_bg);
        if ratio < 4.5 {
            warnings.push(ContrastWarning {
                field: "theme.primary",
                kind: ContrastUse::Links,
                color: self.primary,
                on: worst_bg,
                ratio,
                adjusted: self.link_color(),
            });
        }
        // Each brand colour behind its own text (bars, buttons, tags).
        for (field, color) in [("theme.primary", self.primary), ("theme.secondary", self.secondary)] {
            let text = color.readable_text();
            let ratio = color.contrast(&text);
            if ratio < 4.5 {
                warnings.push(ContrastWarning { field, kind: ContrastUse::Background, color, on: text, ratio, adjusted: color.legible(4.5).0 });
            }
        }
        warnings.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
        warnings
    }

    /// The tokens as CSS custom properties, for a `:root { … }` block. Every value comes from a
    /// validated type, so the output cannot contain anything but these declarations.
    ///
    /// ```
    /// use socle_tenants::ThemeTokens;
    /// let css = ThemeTokens::default().css_variables();
    /// assert!(css.contains("--color-primary: #1f4ed8;"));
    /// ```
    pub fn css_variables(&self) -> String {
        let on_primary = self.primary.readable_text();
        let on_secondary = self.secondary.readable_text();
        format!(
            "--color-primary: {}; --color-on-primary: {}; --color-link: {}; --color-secondary: {}; --color-on-secondary: {}; \
             --color-background: {}; --color-surface: {}; --color-text: {}; \
             --font-body: {}; --font-heading: {}; --radius: {}px;",
            self.primary,
            on_primary,
            self.link_color(),
            self.secondary,
            on_secondary,
            self.background,
            self.surface,
            self.text,
            self.font_body.css_stack(),
            self.font_heading.css_stack(),
            self.radius_px
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_matches_wcag_reference_values() {
        let black = Color::rgb(0, 0, 0);
        let white = Color::rgb(255, 255, 255);
        assert!((black.contrast(&white) - 21.0).abs() < 0.01);
        assert!((white.contrast(&white) - 1.0).abs() < 0.01);
    }

    #[test]
    fn unreadable_themes_are_refused_with_the_field_to_fix() {
        let theme = ThemeTokens { text: Color::rgb(0xcc, 0xcc, 0xcc), ..ThemeTokens::default() };
        let err = theme.validate().unwrap_err();
        assert_eq!(err.field, "theme.background");
        assert!(err.message.contains("4.5:1"));
    }

    #[test]
    fn a_light_primary_is_warned_about_and_links_get_a_readable_shade() {
        let yellow = ThemeTokens { primary: Color::parse("#f1c40f").unwrap(), ..ThemeTokens::default() };
        let warnings = yellow.contrast_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let w = warnings[0];
        assert_eq!((w.field, w.kind), ("theme.primary", ContrastUse::Links));
        assert!(w.ratio < 2.0, "{}", w.ratio);
        // The link colour reads on both backgrounds and keeps the hue (still more red than blue).
        let link = yellow.link_color();
        assert!(link.contrast(&yellow.surface) >= 4.5 && link.contrast(&yellow.background) >= 4.5);
        assert_eq!(w.adjusted, link);
        let [r, _, b] = link.0;
        assert!(r > b, "{link}");
        assert!(yellow.css_variables().contains(&format!("--color-link: {link};")));
        // Bars and buttons stay readable: their text turns dark on yellow.
        assert!(yellow.primary.contrast(&yellow.primary.readable_text()) >= 4.5);
    }

    #[test]
    fn the_default_theme_needs_no_warning_and_keeps_its_link_colour() {
        let theme = ThemeTokens::default();
        assert!(theme.contrast_warnings().is_empty());
        assert_eq!(theme.link_color(), theme.primary);
    }

    #[test]
    fn on_a_dark_background_links_are_lightened() {
        let dark = ThemeTokens {
            background: Color::rgb(0x11, 0x11, 0x11),
            surface: Color::rgb(0x1f, 0x1f, 0x1f),
            text: Color::rgb(0xee, 0xee, 0xee),
            primary: Color::rgb(0x1f, 0x2e, 0x88),
            ..ThemeTokens::default()
        };
        let link = dark.link_color();
        assert!(link.luminance() > dark.primary.luminance());
        assert!(link.contrast(&dark.surface) >= 4.5 && link.contrast(&dark.background) >= 4.5);
    }

    #[test]
    fn contrast_ratio_of_known_pairs() {
        // Reference values from the WCAG contrast checker.
        let ratio = Color::parse("#f1c40f").unwrap().contrast(&Color::rgb(255, 255, 255));
        assert!((ratio - 1.66).abs() < 0.02, "{ratio}");
        let ratio = Color::parse("#767676").unwrap().contrast(&Color::rgb(255, 255, 255));
        assert!((ratio - 4.54).abs() < 0.02, "{ratio}");
    }

    #[test]
    fn theme_json_rejects_css_injection() {
        let json = r#"{"primary": "red; } body { display:none"}"#;
        assert!(serde_json::from_str::<ThemeTokens>(json).is_err());
    }
}
