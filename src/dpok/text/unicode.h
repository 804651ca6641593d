// Unicode character classes and transforms the tokenizers need, matching Rust's `char`
// methods and the unicode_categories crate that Hugging Face tokenizers calls (backed by ICU's
// character database).
//
// Does: White_Space / alphanumeric / punctuation / control / nonspacing-mark tests,
// per-character full lowercasing, and NFC/NFD/NFKC/NFKD normalization of valid UTF-8.
// Does not: validate input (utf8.h).
//
// Known differences from tokenizers, on recent characters only: Rust's to_lowercase may know a
// newer Unicode than ICU (with ICU 72, letters new in Unicode 16 keep their case), and
// tokenizers' NFD tables are older than ICU's (U+11938, new in 13.0, decomposes here only).
#pragma once

#include <string>
#include <string_view>

namespace dpok::text {

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t cp);
// Rust char::is_alphanumeric (Alphabetic, or general category Nd/Nl/No).
bool is_alphanumeric(char32_t cp);
// Rust char::is_ascii_punctuation || general category P* as of Unicode 8.0 (tokenizers' is_punc
// and BertPreTokenizer, through unicode_categories).
bool is_punctuation(char32_t cp);
// General category Cc, Cf or Co as of Unicode 8.0: unicode_categories' is_other (its tables have
// no Cn), which BertNormalizer's clean_text removes.
bool is_category_other(char32_t cp);
// General category Mn as of Unicode 8.0 (unicode_categories' is_mark_nonspacing: the marks
// BertNormalizer and StripAccents strip after NFD).
bool is_nonspacing_mark(char32_t cp);

// Lowercases every character independently with its full mapping (Rust char::to_lowercase,
// as tokenizers' Lowercase normalizer does; no context-dependent final sigma).
std::string lowercase(std::string_view text);

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };

// Normalizes valid UTF-8 `text`. Pure ASCII returns unchanged without calling ICU.
std::string normalize_unicode(std::string_view text, NormalForm form);

}  // namespace dpok::text
