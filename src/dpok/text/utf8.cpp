// UTF-8 validation, lossy decoding and the GPT-2 byte table (see utf8.h).
#include "dpok/text/utf8.h"

#include "dpok/core/error.h"

namespace dpok::text {
namespace {

// Length of the valid prefix of the sequence starting at s[pos] (Unicode "maximal subpart"),
// and whether the whole sequence is valid. Follows Table 3-7 of the Unicode standard.
struct SequenceCheck {
  size_t length;
  bool valid;
};

SequenceCheck check_sequence(std::string_view s, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return {1, true};
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return {1, false};
  }
  size_t i = 1;
  for (; i <= need; ++i) {
    if (pos + i >= s.size()) return {i, false};
    const unsigned char c = byte(pos + i);
    const unsigned char min = i == 1 ? lo : 0x80;
    const unsigned char max = i == 1 ? hi : 0xBF;
    if (c < min || c > max) return {i, false};
  }
  return {need + 1, true};
}

}  // namespace

std::optional<size_t> find_invalid_utf8(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    // ASCII fast path: eight bytes at a time.
    while (pos + 8 <= s.size()) {
      uint64_t word = 0;
      for (size_t k = 0; k < 8; ++k) {
        word |= static_cast<uint64_t>(static_cast<unsigned char>(s[pos + k])) << (8 * k);
      }
      if (word & 0x8080808080808080ULL) break;
      pos += 8;
    }
    if (pos >= s.size()) break;
    const SequenceCheck check = check_sequence(s, pos);
    if (!check.valid) return pos;
    pos += check.length;
  }
  return std::nullopt;
}

void require_valid_utf8(std::string_view s, const char* component) {
  if (const auto bad = find_invalid_utf8(s)) {
    DPOK_THROW(FormatError, component,
               "invalid UTF-8 at byte {} of {} (byte 0x{:02X}); tokenizers accept only valid UTF-8 "
               "text",
               *bad, s.size(), static_cast<unsigned char>(s[*bad]));
  }
}

char32_t next_code_point(std::string_view s, size_t& pos) {
  const auto byte = [&](size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(s[i]));
  };
  const char32_t lead = byte(pos);
  const size_t len = utf8_sequence_length(static_cast<unsigned char>(lead));
  DPOK_CHECK(pos + len <= s.size(), "truncated UTF-8 at {}", pos);
  char32_t cp = 0;
  switch (len) {
    case 1:
      cp = lead;
      break;
    case 2:
      cp = ((lead & 0x1F) << 6) | (byte(pos + 1) & 0x3F);
      break;
    case 3:
      cp = ((lead & 0x0F) << 12) | ((byte(pos + 1) & 0x3F) << 6) | (byte(pos + 2) & 0x3F);
      break;
    default:
      cp = ((lead & 0x07) << 18) | ((byte(pos + 1) & 0x3F) << 12) | ((byte(pos + 2) & 0x3F) << 6) |
           (byte(pos + 3) & 0x3F);
  }
  pos += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const SequenceCheck check = check_sequence(bytes, pos);
    if (check.valid) {
      out.append(bytes.substr(pos, check.length));
    } else {
      out.append("\xEF\xBF\xBD");
    }
    pos += check.length;
  }
  return out;
}

const ByteLevelTable& ByteLevelTable::instance() {
  static const ByteLevelTable table;
  return table;
}

ByteLevelTable::ByteLevelTable() {
  // Printable Latin-1 bytes stand for themselves; the other 68 bytes map to U+0100.. in order.
  cp_to_byte_.fill(-1);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
    append_utf8(byte_to_text_[b], cp);
    cp_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

}  // namespace dpok::text
