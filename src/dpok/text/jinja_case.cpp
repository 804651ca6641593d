// Python string case operations (see jinja_case.h).
#include "dpok/text/jinja_case.h"

#include "dpok/text/jinja_value.h"

namespace dpok::text::jinja {
namespace {

// Ranges where upper and lower case alternate in (even, odd) or (odd, even) pairs.
struct PairRange {
  char32_t first;
  char32_t last;
  bool upper_is_even;
};
constexpr PairRange kPairRanges[] = {
    {0x100, 0x12f, true}, {0x132, 0x137, true},   {0x139, 0x148, false},
    {0x14a, 0x177, true}, {0x179, 0x17e, false},  {0x460, 0x481, true},
    {0x48a, 0x4bf, true}, {0x1e00, 0x1e95, true}, {0x1ea0, 0x1eff, true},
};

// Ranges where lower = upper + offset.
struct ShiftRange {
  char32_t upper_first;
  char32_t upper_last;
  char32_t offset;
};
constexpr ShiftRange kShiftRanges[] = {
    {U'A', U'Z', 32},   {0xc0, 0xd6, 32},     {0xd8, 0xde, 32},   {0x391, 0x3a1, 32},
    {0x3a3, 0x3a9, 32}, {0x388, 0x38a, 37},   {0x38e, 0x38f, 63}, {0x410, 0x42f, 32},
    {0x400, 0x40f, 80}, {0xff21, 0xff3a, 32},
};

char32_t to_lower(char32_t c) {
  for (const auto& r : kShiftRanges) {
    if (c >= r.upper_first && c <= r.upper_last) return c + r.offset;
  }
  for (const auto& r : kPairRanges) {
    if (c >= r.first && c <= r.last && ((c % 2 == 0) == r.upper_is_even)) return c + 1;
  }
  if (c == 0x386) return 0x3ac;
  if (c == 0x38c) return 0x3cc;
  if (c == 0x178) return 0xff;
  return c;
}

char32_t to_upper_simple(char32_t c) {
  for (const auto& r : kShiftRanges) {
    if (c >= r.upper_first + r.offset && c <= r.upper_last + r.offset) return c - r.offset;
  }
  for (const auto& r : kPairRanges) {
    if (c >= r.first && c <= r.last && ((c % 2 == 0) != r.upper_is_even)) return c - 1;
  }
  if (c == 0x3ac) return 0x386;
  if (c == 0x3cc) return 0x38c;
  if (c == 0x3c2) return 0x3a3;  // final sigma
  if (c == 0xff) return 0x178;
  return c;
}

bool is_upper(char32_t c) {
  return to_lower(c) != c;
}
bool is_lower(char32_t c) {
  return to_upper_simple(c) != c || c == 0xdf;
}

void append_upper(std::string& out, char32_t c) {
  if (c == 0xdf) {
    out += "SS";  // Python's full case mapping of sharp s
    return;
  }
  utf8_append(out, to_upper_simple(c));
}

// Python's Final_Sigma rule: a capital sigma preceded by a cased letter and not followed by one
// lowers to the final form.
char32_t lower_at(const std::u32string& cps, size_t i) {
  if (cps[i] != 0x3a3) return to_lower(cps[i]);
  const bool cased_before = i > 0 && (is_upper(cps[i - 1]) || is_lower(cps[i - 1]));
  const bool cased_after = i + 1 < cps.size() && (is_upper(cps[i + 1]) || is_lower(cps[i + 1]));
  return cased_before && !cased_after ? 0x3c2 : 0x3c3;
}

}  // namespace

std::string py_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) append_upper(out, utf8_next(s, i));
  return out;
}

std::string py_lower(std::string_view s) {
  const std::u32string cps = utf8_decode(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < cps.size(); ++i) utf8_append(out, lower_at(cps, i));
  return out;
}

std::string py_title(std::string_view s) {
  const std::u32string cps = utf8_decode(s);
  std::string out;
  bool previous_cased = false;
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    if (is_upper(c)) {
      utf8_append(out, previous_cased ? lower_at(cps, i) : c);
      previous_cased = true;
    } else if (is_lower(c)) {
      if (previous_cased) {
        utf8_append(out, c);
      } else if (c == 0xdf) {
        out += "Ss";  // title case of sharp s
      } else {
        utf8_append(out, to_upper_simple(c));
      }
      previous_cased = true;
    } else {
      utf8_append(out, c);
      previous_cased = false;
    }
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  const std::u32string cps = utf8_decode(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0 && cps[0] == 0xdf) {
      out += "Ss";
    } else if (i == 0) {
      utf8_append(out, to_upper_simple(cps[0]));
    } else {
      utf8_append(out, lower_at(cps, i));
    }
  }
  return out;
}

bool py_isupper(std::string_view s) {
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    const char32_t c = utf8_next(s, i);
    if (is_lower(c)) return false;
    cased = cased || is_upper(c);
  }
  return cased;
}

bool py_islower(std::string_view s) {
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    const char32_t c = utf8_next(s, i);
    if (is_upper(c)) return false;
    cased = cased || is_lower(c);
  }
  return cased;
}

}  // namespace dpok::text::jinja
