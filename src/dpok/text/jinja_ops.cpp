// Jinja operators with Python semantics (see jinja_ops.h).
#include "dpok/text/jinja_ops.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace dpok::text::jinja {
namespace {

[[noreturn]] void overflow() {
  throw RuntimeError("integer overflow (Python big integers are not supported)");
}

[[noreturn]] void unsupported_operands(const std::string& op, const Value& a, const Value& b) {
  throw RuntimeError(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op,
                                 a.type_name(), b.type_name()));
}

bool is_integral(const Value& v) {
  return v.is_int() || v.is_bool();
}

// a op b on int64, refusing overflow (`op` is a __builtin_*_overflow).
template <typename Op>
int64_t checked(Op op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op(a, b, &r)) overflow();
  return r;
}
bool add_overflow(int64_t a, int64_t b, int64_t* r) {
  return __builtin_add_overflow(a, b, r);
}
bool sub_overflow(int64_t a, int64_t b, int64_t* r) {
  return __builtin_sub_overflow(a, b, r);
}
bool mul_overflow(int64_t a, int64_t b, int64_t* r) {
  return __builtin_mul_overflow(a, b, r);
}

// Python's float divmod: floor division and a modulo with the divisor's sign.
std::pair<double, double> float_divmod(double x, double y) {
  if (y == 0.0) throw RuntimeError("float division by zero");
  double mod = std::fmod(x, y);
  double div = (x - mod) / y;
  if (mod != 0.0) {
    if ((y < 0) != (mod < 0)) {
      mod += y;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, y);
  }
  double floordiv = 0.0;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, x / y);
  }
  return {floordiv, mod};
}

std::pair<int64_t, int64_t> int_divmod(int64_t x, int64_t y) {
  if (y == 0) throw RuntimeError("integer division or modulo by zero");
  if (x == std::numeric_limits<int64_t>::min() && y == -1) overflow();
  int64_t q = x / y;
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) {
    r += y;
    q -= 1;
  }
  return {q, r};
}

Value int_pow(int64_t base, int64_t exponent) {
  if (exponent < 0)
    return Value(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  int64_t result = 1;
  for (int64_t i = 0; i < exponent; ++i) {
    if (__builtin_mul_overflow(result, base, &result)) overflow();
    if (result == 0 || result == 1) break;  // 0**n and 1**n stay put
    if (result == -1) return Value((exponent - i - 1) % 2 == 0 ? int64_t{-1} : int64_t{1});
  }
  return Value(result);
}

Value repeat(const Value& seq, const Value& count, size_t max_size) {
  const int64_t n = std::max<int64_t>(count.as_int(), 0);
  if (seq.is_string()) {
    const size_t len = seq.as_string().size();
    if (n > 0 && len > 0 && static_cast<uint64_t>(n) > max_size / len) {
      throw RuntimeError(fmt::format("string repetition exceeds {} bytes", max_size));
    }
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  const List& items = seq.as_list();
  // Items are copied (strings included), so bound the bytes the repetition would allocate.
  size_t bytes = 0;
  for (const Value& v : items) bytes += sizeof(Value) + (v.is_string() ? v.as_string().size() : 0);
  if (n > 0 && bytes > 0 && static_cast<uint64_t>(n) > max_size / bytes) {
    throw RuntimeError(fmt::format("list repetition exceeds {} bytes", max_size));
  }
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.kind() == Value::Kind::kTuple);
}

Value add(const Value& a, const Value& b, size_t max_size) {
  if (a.is_number() && b.is_number()) {
    if (is_integral(a) && is_integral(b)) {
      return Value(checked(add_overflow, a.as_int(), b.as_int()));
    }
    return Value(a.as_number() + b.as_number());
  }
  if (a.is_string() && b.is_string()) {
    if (a.as_string().size() + b.as_string().size() > max_size) {
      throw RuntimeError(fmt::format("string exceeds {} bytes", max_size));
    }
    return Value(a.as_string() + b.as_string());
  }
  if (a.is_sequence() && a.kind() == b.kind()) {
    List out = a.as_list();
    out.insert(out.end(), b.as_list().begin(), b.as_list().end());
    return Value::list(std::move(out), a.kind() == Value::Kind::kTuple);
  }
  if (a.is_string() || a.is_sequence()) {
    throw RuntimeError(fmt::format("can only concatenate {} (not \"{}\") to {}", a.type_name(),
                                   b.type_name(), a.type_name()));
  }
  unsupported_operands("+", a, b);
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (!a.is_number() || !b.is_number()) unsupported_operands(op, a, b);
  const bool ints = is_integral(a) && is_integral(b);
  if (op == "/") {
    if (b.as_number() == 0.0) throw RuntimeError("division by zero");
    return Value(a.as_number() / b.as_number());
  }
  if (ints) {
    const int64_t x = a.as_int();
    const int64_t y = b.as_int();
    if (op == "-") return Value(checked(sub_overflow, x, y));
    if (op == "*") return Value(checked(mul_overflow, x, y));
    if (op == "//") return Value(int_divmod(x, y).first);
    if (op == "%") return Value(int_divmod(x, y).second);
    return int_pow(x, y);
  }
  const double x = a.as_number();
  const double y = b.as_number();
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "//") return Value(float_divmod(x, y).first);
  if (op == "%") return Value(float_divmod(x, y).second);
  if (x == 0.0 && y < 0) throw RuntimeError("0.0 cannot be raised to a negative power");
  return Value(std::pow(x, y));
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b, size_t max_size) {
  if (op == "~") {
    std::string s = a.str();
    const std::string t = b.str();
    if (s.size() + t.size() > max_size) {
      throw RuntimeError(fmt::format("string exceeds {} bytes", max_size));
    }
    return Value(s + t);
  }
  if (a.is_undefined()) throw RuntimeError(a.undefined_hint());
  if (b.is_undefined()) throw RuntimeError(b.undefined_hint());
  if (op == "+") return add(a, b, max_size);
  if (op == "*") {
    const bool a_seq = a.is_string() || a.is_sequence();
    const bool b_seq = b.is_string() || b.is_sequence();
    if (a_seq && is_integral(b)) return repeat(a, b, max_size);
    if (b_seq && is_integral(a)) return repeat(b, a, max_size);
    if (a_seq || b_seq) {
      throw RuntimeError(fmt::format("can't multiply sequence by non-int of type '{}'",
                                     a_seq ? b.type_name() : a.type_name()));
    }
  }
  if (op == "%" && a.is_string()) {
    throw UnsupportedFeature("printf-style string formatting ('...' % x)");
  }
  return arithmetic(op, a, b);
}

Value unary_op(const std::string& op, const Value& a) {
  if (a.is_undefined()) throw RuntimeError(a.undefined_hint());
  if (!a.is_number()) {
    throw RuntimeError(fmt::format("bad operand type for unary {}: '{}'", op, a.type_name()));
  }
  if (a.kind() == Value::Kind::kFloat) return Value(op == "-" ? -a.as_number() : a.as_number());
  if (op == "+") return Value(a.as_int());
  if (a.as_int() == std::numeric_limits<int64_t>::min()) overflow();
  return Value(-a.as_int());
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;  // jinja2's Undefined iterates as empty
    case Value::Kind::kString:
      if (!item.is_string()) {
        throw RuntimeError(
            fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      for (const Value& v : container.as_list()) {
        if (equal(v, item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      return container.as_dict().find(item) != nullptr;
    default:
      throw RuntimeError(
          fmt::format("argument of type '{}' is not iterable", container.type_name()));
  }
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return equal(a, b);
  if (op == "!=") return !equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  const int c = compare(a, b);
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

}  // namespace dpok::text::jinja
