//! The codes Business Central needs and Lightspeed doesn't have, derived deterministically:
//! item variant codes (10 characters), item category codes (20 characters), and the check
//! of a GTIN before it is sent. Pure functions.
//!
//! **Code text.** Letters are upper-cased and folded to ASCII (`é` → `E`, `ß` → `SS`),
//! digits kept, every other run of characters becomes one `-`; leading and trailing `-` are
//! dropped.
//!
//! **Variant codes** ([`variant_codes`]). A variant's base is its attribute values, each
//! through the mapping table `attribute_codes` (`Small` → `S`, `Black` → `BLK`), joined by
//! `-` (`BLK-S`), as code text. Within one matrix, in ascending Lightspeed `itemID` order,
//! each variant takes the first of these that no earlier variant took:
//! 1. the base, when it has 1 to 10 characters;
//! 2. its abbreviation ([`abbreviation`]), when that has 1 to 10 characters: each attribute
//!    value of up to 4 characters, or that is a size, kept whole (`XXL`, `3XL`, `XXXXL`,
//!    `42`), a longer value of several words as their initials (numbers kept whole), a
//!    longer single word as its first 3 letters — `Midnight Navy Heather-XXL` → `MNH-XXL`,
//!    `Black-Medium` → `BLA-MED`;
//! 3. the base cut to fit, `-` and the itemID (`MISTY-3103` for `Misty Nordic Heath-XXL`,
//!    item 3103, when `MNH-XXL` is taken);
//! 4. `V` and the itemID (`V133`; base 36 past nine digits).
//!
//! Variants keep the code they were created with in Business Central (they are found again
//! by their SystemId): a new code only matters for a new variant, and adding a variant
//! never changes the codes of those before it (itemIDs only grow).
//!
//! **Category codes** ([`category_codes`]). The category path as code text
//! (`Apparel/T-Shirts` → `APPAREL-T-SHIRTS`) when it has at most 20 characters; otherwise,
//! or when that code already belongs to a different category in Business Central, its
//! first 11 characters, `-` and the first 8 hex digits of the SHA-256 of the normalised path
//! (`APPAREL-MEN-1A2B3C4D`).

use std::collections::{BTreeMap, BTreeSet};

use lsbc_core::ContentHash;

/// Longest item variant code (BC `Item Variant.Code`, Code[10]).
pub const VARIANT_CODE_MAX: usize = 10;
/// Longest item category code (BC `Item Category.Code`, Code[20]).
pub const CATEGORY_CODE_MAX: usize = 20;

fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => "A",
        'æ' => "AE",
        'ç' | 'ć' | 'č' => "C",
        'ď' | 'ð' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "E",
        'ğ' => "G",
        'ì' | 'í' | 'î' | 'ï' | 'ı' => "I",
        'ł' | 'ľ' => "L",
        'ñ' | 'ń' | 'ň' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "O",
        'œ' => "OE",
        'ř' => "R",
        'ś' | 'š' | 'ş' => "S",
        'ß' => "SS",
        'ť' | 'ţ' => "T",
        'þ' => "TH",
        'ù' | 'ú' | 'û' | 'ü' | 'ů' | 'ű' | 'ū' => "U",
        'ý' | 'ÿ' => "Y",
        'ź' | 'ż' | 'ž' => "Z",
        _ => return None,
    })
}

/// Text as a Business Central code: upper-case ASCII letters and digits, other runs as `-`.
pub fn code_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let piece = if c.is_ascii_alphanumeric() {
            Some(c.to_ascii_uppercase().to_string())
        } else {
            fold(lower).map(str::to_owned)
        };
        match piece {
            Some(p) => {
                if gap && !out.is_empty() {
                    out.push('-');
                }
                gap = false;
                out.push_str(&p);
            }
            None => gap = true,
        }
    }
    out
}

fn cut(text: &str, max: usize) -> &str {
    let end = text.len().min(max);
    text[..end].trim_end_matches('-')
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn id_text(item_id: u64) -> String {
    let decimal = item_id.to_string();
    if decimal.len() < VARIANT_CODE_MAX {
        decimal
    } else {
        base36(item_id)
    }
}

/// The last-resort code of a variant: `V` and its itemID.
pub fn variant_fallback(item_id: u64) -> String {
    format!("V{}", id_text(item_id))
}

/// Longest attribute value an abbreviation keeps whole (sizes such as `XXL`, `3XL`, `42`).
const KEPT_WHOLE: usize = 4;

/// Letters a single long word keeps in an abbreviation.
const WORD_PREFIX: usize = 3;

/// Whether a value (as code text) is a clothing size: a number, or `X`s before `S`, `M`
/// or `L` with an optional count (`XXXXL`, `4XL`, `XXS`).
fn is_size(value: &str) -> bool {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    let letters = value.trim_start_matches(|c: char| c.is_ascii_digit());
    matches!(letters.trim_start_matches('X'), "S" | "M" | "L")
}

/// A readable short form of a variant base (attribute values joined by `-` or `/`), as code
/// text:
/// each value of up to 4 characters as it is, a longer one of several words as their
/// initials (a word of digits kept whole), a longer single word as its first 3 characters.
///
/// ```
/// use lsbc_connectors::products::codes::abbreviation;
/// assert_eq!(abbreviation("Midnight Navy Heather-XXL"), "MNH-XXL");
/// assert_eq!(abbreviation("Charcoal-42"), "CHA-42");
/// assert_eq!(abbreviation("Pack of 12-Red"), "PO12-RED");
/// ```
pub fn abbreviation(base: &str) -> String {
    let values: Vec<String> = base
        .split(['-', '/'])
        .map(code_text)
        .filter(|value| !value.is_empty())
        .map(|value| {
            if value.len() <= KEPT_WHOLE || is_size(&value) {
                return value;
            }
            let words: Vec<&str> = value.split('-').collect();
            if let [word] = words.as_slice() {
                return word.chars().take(WORD_PREFIX).collect();
            }
            words
                .iter()
                .map(|word| {
                    if word.bytes().all(|b| b.is_ascii_digit()) {
                        (*word).to_owned()
                    } else {
                        word.chars().take(1).collect()
                    }
                })
                .collect()
        })
        .collect();
    values.join("-")
}

/// The codes a variant may take, best first.
fn variant_candidates(item_id: u64, base: &str) -> Vec<String> {
    let short = abbreviation(base);
    let base = code_text(base);
    let mut out = Vec::new();
    if !base.is_empty() && base.len() <= VARIANT_CODE_MAX {
        out.push(base.clone());
    }
    if !short.is_empty() && short.len() <= VARIANT_CODE_MAX && short != base {
        out.push(short);
    }
    let id = id_text(item_id);
    let keep = VARIANT_CODE_MAX.saturating_sub(id.len() + 1);
    let prefix = cut(&base, keep);
    if !prefix.is_empty() {
        out.push(format!("{prefix}-{id}"));
    }
    out.push(variant_fallback(item_id));
    out
}

/// Codes for the variants of one matrix, `(itemID, base)` → code, as the module explains.
pub fn variant_codes<'a>(
    variants: impl IntoIterator<Item = (u64, &'a str)>,
) -> BTreeMap<u64, String> {
    let sorted: BTreeMap<u64, &str> = variants.into_iter().collect();
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    for (id, base) in sorted {
        let candidates = variant_candidates(id, base);
        let code = candidates
            .iter()
            .find(|c| !taken.contains(*c))
            .cloned()
            .unwrap_or_else(|| variant_fallback(id));
        taken.insert(code.clone());
        out.insert(id, code);
    }
    out
}

/// A category path as compared and hashed: segments trimmed and lower-cased, joined by `/`.
pub fn normalized_path(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("/")
}

/// The two codes a category path may have in Business Central.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCodes {
    /// The path as code text (or the hashed form when that is too long).
    pub plain: String,
    /// Cut to 11 characters, `-` and 8 hex digits of the path's hash.
    pub hashed: String,
}

/// The codes of a category path, as the module explains.
pub fn category_codes(path: &str) -> CategoryCodes {
    let normalized = normalized_path(path);
    let mut slug = code_text(&normalized);
    if slug.is_empty() {
        slug = "CATEGORY".into();
    }
    let hash = ContentHash::of_bytes(normalized.as_bytes()).to_hex();
    let hashed = format!(
        "{}-{}",
        cut(&slug, CATEGORY_CODE_MAX - 9),
        hash[..8].to_uppercase()
    );
    let plain = if slug.len() <= CATEGORY_CODE_MAX {
        slug
    } else {
        hashed.clone()
    };
    CategoryCodes { plain, hashed }
}

/// Why a GTIN (EAN/UPC) can't be sent, if it can't: only digits, 8, 12, 13 or 14 of them,
/// and the GS1 check digit right.
pub fn gtin_problem(gtin: &str) -> Option<String> {
    if gtin.is_empty() || !gtin.bytes().all(|b| b.is_ascii_digit()) {
        return Some("has characters other than digits".into());
    }
    if ![8, 12, 13, 14].contains(&gtin.len()) {
        return Some(format!(
            "has {} digits (8, 12, 13 or 14 expected)",
            gtin.len()
        ));
    }
    let digits: Vec<u32> = gtin.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    let expected = (10 - sum % 10) % 10;
    (check[0] != expected).then(|| format!("check digit is {}, should be {expected}", check[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_text_folds_and_separates() {
        assert_eq!(code_text("Black / Small"), "BLACK-SMALL");
        assert_eq!(code_text("  Vêtements d'été  "), "VETEMENTS-D-ETE");
        assert_eq!(code_text("Straße Größe XL"), "STRASSE-GROSSE-XL");
        assert_eq!(code_text("T-Shirts"), "T-SHIRTS");
        assert_eq!(code_text("日本"), "");
    }

    #[test]
    fn variant_codes_fit_and_never_collide() {
        let codes = variant_codes([
            (133, "BLK-S"),
            (134, "Black-Medium"),
            (135, "BLK-S"),
            (136, ""),
            (137, "日本"),
            (12_345_678_901, "Extra-Long-Name"),
        ]);
        assert_eq!(codes[&133], "BLK-S");
        assert_eq!(codes[&134], "BLA-MED", "too long: abbreviated");
        assert_eq!(
            codes[&135], "BLK-S-135",
            "collision: the later itemID gives way"
        );
        assert_eq!(codes[&136], "V136", "no attributes");
        assert_eq!(codes[&137], "V137");
        assert_eq!(
            codes[&12_345_678_901], "EX-5O6AQT1",
            "the abbreviation is too long too; long ids in base 36"
        );
        let all: BTreeSet<&String> = codes.values().collect();
        assert_eq!(all.len(), codes.len());
        assert!(codes.values().all(|c| c.len() <= VARIANT_CODE_MAX));
    }

    #[test]
    fn abbreviations_keep_each_attribute_recognisable() {
        for (base, short) in [
            ("Midnight Navy Heather-XXL", "MNH-XXL"),
            ("Midnight Navy Heather / XXL", "MNH-XXL"),
            ("Charcoal-42", "CHA-42"),
            ("Heather Grey-3XL", "HG-3XL"),
            ("Pack of 12-Red", "PO12-RED"),
            ("Crème Brûlée-S", "CB-S"),
            ("BLK-S", "BLK-S"),
            ("Black-XXXXL", "BLA-XXXXL"),
            ("", ""),
        ] {
            assert_eq!(abbreviation(base), short, "{base}");
        }
    }

    #[test]
    fn long_attribute_values_are_abbreviated_before_the_item_id() {
        let codes = variant_codes([
            (3100, "Midnight Navy Heather-XXL"),
            (3101, "Midnight Navy Heather-XL"),
            (3102, "Midnight Navy Heather-M"),
            (3103, "Misty Nordic Heath-XXL"),
            (3104, "Charcoal Heather Melange Marl Mix-XXXXL"),
        ]);
        assert_eq!(codes[&3100], "MNH-XXL");
        assert_eq!(codes[&3101], "MNH-XL");
        assert_eq!(codes[&3102], "MNH-M");
        assert_eq!(
            codes[&3103], "MISTY-3103",
            "the abbreviation is taken: the item id"
        );
        assert_eq!(
            codes[&3104], "CHARC-3104",
            "the abbreviation is too long: the item id"
        );
        let all: BTreeSet<&String> = codes.values().collect();
        assert_eq!(all.len(), codes.len());
        assert!(codes.values().all(|c| c.len() <= VARIANT_CODE_MAX));
    }

    #[test]
    fn variant_codes_are_deterministic_and_stable_when_variants_are_added() {
        let before = variant_codes([(10, "RED-S"), (11, "RED-S")]);
        let after = variant_codes([(12, "RED-S-11"), (11, "RED-S"), (10, "RED-S")]);
        assert_eq!(before[&10], after[&10]);
        assert_eq!(before[&11], after[&11]);
        assert_eq!(after[&11], "RED-S-11");
        assert_eq!(
            after[&12], "RED-S-1-12",
            "its own base was taken by item 11"
        );
    }

    #[test]
    fn category_codes_fit_and_hash_when_too_long() {
        let short = category_codes("Apparel/T-Shirts");
        assert_eq!(short.plain, "APPAREL-T-SHIRTS");
        assert_eq!(short.hashed.len(), CATEGORY_CODE_MAX);
        assert!(short.hashed.starts_with("APPAREL-T-"), "{}", short.hashed);
        let long = category_codes("Apparel/Men/Outerwear/Winter Jackets");
        assert_eq!(long.plain, long.hashed);
        assert!(long.plain.starts_with("APPAREL-MEN-"), "{}", long.plain);
        assert_eq!(long.plain.len(), CATEGORY_CODE_MAX);
        assert_eq!(
            category_codes(" apparel / t-shirts "),
            short,
            "normalised before hashing"
        );
        assert_ne!(category_codes("A/B").hashed, category_codes("A-B").hashed);
        assert_eq!(category_codes("A/B").plain, category_codes("A-B").plain);
        assert_eq!(category_codes("///").plain, "CATEGORY");
    }

    #[test]
    fn gtins_are_checked() {
        for ok in [
            "0614121182479",
            "4006381333931",
            "96385074",
            "036000291452",
            "10614141000415",
        ] {
            assert_eq!(gtin_problem(ok), None, "{ok}");
        }
        assert_eq!(
            gtin_problem("4006381333932").unwrap(),
            "check digit is 2, should be 1"
        );
        assert!(gtin_problem("12345").unwrap().contains("5 digits"));
        assert!(gtin_problem("40063813339X1").unwrap().contains("digits"));
        assert!(gtin_problem("").is_some());
    }
}
