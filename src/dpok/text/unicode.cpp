// Unicode classes and normalization through ICU (see unicode.h).
#include "dpok/text/unicode.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "dpok/core/error.h"
#include "dpok/text/utf8.h"

namespace dpok::text {
namespace {

bool is_ascii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

const icu::Normalizer2& normalizer_for(NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = nullptr;
  switch (form) {
    case NormalForm::kNFC:
      normalizer = icu::Normalizer2::getNFCInstance(status);
      break;
    case NormalForm::kNFD:
      normalizer = icu::Normalizer2::getNFDInstance(status);
      break;
    case NormalForm::kNFKC:
      normalizer = icu::Normalizer2::getNFKCInstance(status);
      break;
    case NormalForm::kNFKD:
      normalizer = icu::Normalizer2::getNFKDInstance(status);
      break;
  }
  DPOK_CHECK(U_SUCCESS(status) && normalizer != nullptr, "ICU normalizer unavailable: {}",
             u_errorName(status));
  return *normalizer;
}

// Code points whose general category in Unicode 8.0 differs from ICU's in a way the predicates
// below see, found by comparing every code point with tokenizers.
struct CategoryChange {
  char32_t cp;
  UCharCategory unicode8;
};
constexpr std::array<CategoryChange, 6> kUnicode8Categories = {{
    {0x166D, U_OTHER_PUNCTUATION},       // So since 12.0
    {0x1734, U_NON_SPACING_MARK},        // Mc since 14.0
    {0x1885, U_OTHER_LETTER},            // Mn since 9.0
    {0x1886, U_OTHER_LETTER},            // Mn since 9.0
    {0xA9BD, U_COMBINING_SPACING_MARK},  // Mn since 12.0
    {0x111C9, U_OTHER_PUNCTUATION},      // Mn since 11.0
}};

// The general category as of Unicode 8.0, the version of the unicode_categories crate's tables
// that tokenizers classifies punctuation, controls and marks with: characters assigned later are
// unassigned (Cn) there.
int8_t unicode8_category(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  UVersionInfo age;
  u_charAge(c, age);
  constexpr UVersionInfo kUnicode8 = {8, 0, 0, 0};
  if (std::memcmp(age, kUnicode8, sizeof(UVersionInfo)) > 0) return U_UNASSIGNED;
  const auto* change = std::find_if(kUnicode8Categories.begin(), kUnicode8Categories.end(),
                                    [cp](const CategoryChange& x) { return x.cp == cp; });
  return change != kUnicode8Categories.end() ? static_cast<int8_t>(change->unicode8)
                                             : u_charType(c);
}

}  // namespace

bool is_whitespace(char32_t cp) {
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE);
}

bool is_alphanumeric(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC)) return true;
  const int8_t type = u_charType(c);
  return type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
}

bool is_punctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E);
  }
  return (U_MASK(unicode8_category(cp)) & U_GC_P_MASK) != 0;
}

bool is_category_other(char32_t cp) {
  const int8_t type = unicode8_category(cp);
  return type == U_CONTROL_CHAR || type == U_FORMAT_CHAR || type == U_PRIVATE_USE_CHAR;
}

bool is_nonspacing_mark(char32_t cp) {
  return unicode8_category(cp) == U_NON_SPACING_MARK;
}

std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t cp = next_code_point(text, pos);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
      continue;
    }
    // Full mapping of one character in isolation (İ -> i + U+0307), root locale.
    icu::UnicodeString one(static_cast<UChar32>(cp));
    one.toLower(icu::Locale::getRoot());
    one.toUTF8String(out);
  }
  return out;
}

std::string normalize_unicode(std::string_view text, NormalForm form) {
  if (is_ascii(text)) return std::string(text);
  const icu::Normalizer2& normalizer = normalizer_for(form);
  const icu::UnicodeString source = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  UErrorCode status = U_ZERO_ERROR;
  if (normalizer.isNormalized(source, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  const icu::UnicodeString result = normalizer.normalize(source, status);
  DPOK_CHECK(U_SUCCESS(status), "ICU normalization failed: {}", u_errorName(status));
  std::string out;
  result.toUTF8String(out);
  return out;
}

}  // namespace dpok::text
