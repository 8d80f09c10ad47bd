//! Message catalogs (zh-CN by default, English) and choosing the language of a request:
//! the user's preference, then the `lang` cookie, then `Accept-Language`, then zh-CN.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// 简体中文 (default).
    #[default]
    ZhCn,
    /// English.
    En,
}

impl Locale {
    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// Parses a tag such as `zh-CN`, `zh`, `en-US` (case-insensitive).
    pub fn parse(tag: &str) -> Option<Locale> {
        let t = tag.trim().to_ascii_lowercase();
        if t == "zh" || t.starts_with("zh-") || t.starts_with("zh_") {
            Some(Locale::ZhCn)
        } else if t == "en" || t.starts_with("en-") || t.starts_with("en_") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// Picks the first supported language from an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut choices: Vec<(f32, usize, Locale)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut bits = part.split(';');
                let locale = Locale::parse(bits.next()?)?;
                let q =
                    bits.find_map(|b| b.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
                (q > 0.0).then_some((q, i, locale))
            })
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        choices.first().map(|c| c.2)
    }

    /// Chooses the language of a request.
    pub fn negotiate(user: Option<&str>, cookie: Option<&str>, accept_language: Option<&str>) -> Locale {
        user.and_then(Locale::parse)
            .or_else(|| cookie.and_then(Locale::parse))
            .or_else(|| accept_language.and_then(Locale::from_accept_language))
            .unwrap_or_default()
    }
}

type Catalog = HashMap<String, String>;

fn load(text: &str) -> Catalog {
    // The catalogs are compiled in and checked by tests; an unreadable one shows keys.
    toml::from_str(text).unwrap_or_default()
}

fn catalogs() -> &'static (Catalog, Catalog) {
    static CATALOGS: OnceLock<(Catalog, Catalog)> = OnceLock::new();
    CATALOGS.get_or_init(|| (load(include_str!("../locales/zh-CN.toml")), load(include_str!("../locales/en.toml"))))
}

/// Translates `key`; a missing key shows itself (tests keep every used key present).
pub fn t(locale: Locale, key: &str) -> &str {
    let (zh, en) = catalogs();
    let catalog = match locale {
        Locale::ZhCn => zh,
        Locale::En => en,
    };
    catalog.get(key).map_or(key, String::as_str)
}

/// The translator handed to templates: `{{ tr.t("nav.home") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The request's language.
    pub locale: Locale,
}

impl Tr {
    /// Translates `key`.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        t(self.locale, key)
    }

    /// The `lang` attribute of the page.
    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    /// The other language, for the switcher link.
    pub fn other(&self) -> Locale {
        match self.locale {
            Locale::ZhCn => Locale::En,
            Locale::En => Locale::ZhCn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogs_parse_and_have_the_same_keys() {
        let zh: Catalog = toml::from_str(include_str!("../locales/zh-CN.toml")).unwrap_or_else(|e| panic!("{e}"));
        let en: Catalog = toml::from_str(include_str!("../locales/en.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert!(zh.len() > 20);
        let mut missing_en: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let mut missing_zh: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        missing_en.sort();
        missing_zh.sort();
        assert!(missing_en.is_empty() && missing_zh.is_empty(), "en lacks {missing_en:?}; zh-CN lacks {missing_zh:?}");
    }

    #[test]
    fn every_key_used_in_templates_and_code_is_in_the_catalog() {
        let zh: Catalog = toml::from_str(include_str!("../locales/zh-CN.toml")).unwrap_or_else(|e| panic!("{e}"));
        let mut missing = Vec::new();
        for dir in ["templates", "src"] {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            let mut stack = vec![root];
            while let Some(d) = stack.pop() {
                for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{e}")).flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    for part in text.split("t(\"").skip(1) {
                        let key = part.split('"').next().unwrap_or_default();
                        if key.contains('.') && !key.contains(' ') && !zh.contains_key(key) {
                            missing.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys missing from locales/zh-CN.toml: {missing:?}");
    }

    #[test]
    fn language_is_chosen_by_preference_then_cookie_then_header() {
        assert_eq!(Locale::negotiate(None, None, None), Locale::ZhCn);
        assert_eq!(Locale::negotiate(None, None, Some("en-US,en;q=0.9")), Locale::En);
        assert_eq!(Locale::negotiate(None, None, Some("fr, zh;q=0.5, en;q=0.8")), Locale::En);
        assert_eq!(Locale::negotiate(None, Some("zh-CN"), Some("en")), Locale::ZhCn);
        assert_eq!(Locale::negotiate(Some("en"), Some("zh-CN"), None), Locale::En);
        assert_eq!(Locale::negotiate(None, None, Some("fr, de")), Locale::ZhCn);
    }
}
