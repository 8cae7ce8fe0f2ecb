//! Normalisation of names into natural keys.
//!
//! Two names are the same artist, album or genre when their keys are equal.
//! The key is the name in Unicode NFC, with surrounding white space removed,
//! inner runs of white space folded to one space, and lower-cased (Unicode
//! lower case). Diacritics are kept: "Beyoncé" and "Beyonce" are different
//! keys (search, not identity, folds diacritics).

use unicode_normalization::UnicodeNormalization;

/// The display form of a name: NFC, trimmed, inner white space folded.
pub fn clean(name: &str) -> String {
    let nfc: String = name.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The natural key of a name (see the module documentation).
pub fn key(name: &str) -> String {
    clean(name).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spacing_do_not_matter() {
        assert_eq!(key("  The   Beatles "), key("the beatles"));
        assert_eq!(key("ÉLAN"), "élan");
    }

    #[test]
    fn composed_and_decomposed_forms_are_one_key() {
        let composed = "Beyonc\u{e9}";
        let decomposed = "Beyonce\u{301}";
        assert_ne!(composed, decomposed);
        assert_eq!(key(composed), key(decomposed));
    }

    #[test]
    fn diacritics_are_kept() {
        assert_ne!(key("Beyoncé"), key("Beyonce"));
    }

    #[test]
    fn clean_keeps_case() {
        assert_eq!(clean(" Sigur  Rós\t"), "Sigur Rós");
    }
}
