// Unicode character classes and transforms the tokenizers need, matching Rust's `char`
// methods that Hugging Face tokenizers calls (backed by ICU's character database).
//
// Does: White_Space / alphanumeric / punctuation tests, per-character full lowercasing, and
// NFC/NFD/NFKC/NFKD normalization of valid UTF-8. Does not: validate input (utf8.h).
#pragma once

#include <string>
#include <string_view>

namespace dpok::text {

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t cp);
// Rust char::is_alphanumeric (Alphabetic, or general category Nd/Nl/No).
bool is_alphanumeric(char32_t cp);
// Rust char::is_ascii_punctuation || general category P* (tokenizers' is_punc).
bool is_punctuation(char32_t cp);

// Lowercases every character independently with its full mapping (Rust char::to_lowercase,
// as tokenizers' Lowercase normalizer does; no context-dependent final sigma).
std::string lowercase(std::string_view text);

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };

// Normalizes valid UTF-8 `text`. Pure ASCII returns unchanged without calling ICU.
std::string normalize_unicode(std::string_view text, NormalForm form);

}  // namespace dpok::text
