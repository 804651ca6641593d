// Jinja operators: Python's arithmetic, concatenation, comparison and containment on jinja values.
//
// int arithmetic is exact on int64 and refuses overflow (Python would switch to big integers);
// `/` is true division, `//` and `%` floor like Python, `**` with a negative exponent gives a
// float. `~` stringifies both sides (undefined as ""); every other operator fails on an
// undefined operand with jinja2's "'x' is undefined". Strings, lists and tuples support + and
// repetition by int; results longer than `max_size` bytes/items are refused.
// Throws jinja::RuntimeError with Python's TypeError/ZeroDivisionError wording.
#pragma once

#include <cstddef>
#include <string>

#include "dpok/text/jinja_value.h"

namespace dpok::text::jinja {

// op is one of + - * / // % ** ~
Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_size);
// op is "-" or "+"
Value unary_op(const std::string& op, const Value& a);
// op is == != < <= > >= in notin
bool compare_op(const std::string& op, const Value& a, const Value& b);
// Python's `item in container`.
bool contains(const Value& container, const Value& item);

}  // namespace dpok::text::jinja
