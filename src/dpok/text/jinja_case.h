// Python string case operations for the chat-template interpreter (upper, lower, title, ...).
//
// Covers the cased scripts chat data mostly uses: ASCII, Latin-1, Latin Extended-A, Latin
// Extended Additional (Vietnamese), Greek, Cyrillic and fullwidth Latin; "ß".upper() is "SS" as
// in Python. Other cased code points (Armenian, Georgian, Latin Extended-B, ...) are left
// unchanged, where Python would map them.
#pragma once

#include <string>
#include <string_view>

namespace dpok::text::jinja {

std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
// str.title(): a cased character after a cased character is lowered, otherwise uppered.
std::string py_title(std::string_view s);
// str.capitalize(): first character upper, the rest lower.
std::string py_capitalize(std::string_view s);
// Any cased character, and are all cased characters upper (lower)? (str.isupper/islower)
bool py_isupper(std::string_view s);
bool py_islower(std::string_view s);

}  // namespace dpok::text::jinja
