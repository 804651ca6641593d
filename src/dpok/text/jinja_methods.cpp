// Attribute/item access, iteration, argument binding, globals and Python methods of jinja values.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "dpok/text/jinja_builtins.h"
#include "dpok/text/jinja_case.h"

namespace dpok::text::jinja {
namespace {

// jinja2's object_type_repr, used in "... has no attribute ..." hints.
std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_object()) return v.as_object().type_name + " object";
  return v.type_name() + " object";
}

Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_type_repr(obj), name));
}

// The sandbox turns unsafe attributes into an undefined that fails when used.
Value unsafe(const Value& obj, const std::string& name) {
  return Value::undefined(
      fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name()));
}

bool one_of(const std::string& name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

int64_t int_arg(const std::optional<Value>& v, int64_t fallback, const char* what) {
  if (!v || v->is_none()) return fallback;
  if (!v->is_int() && !v->is_bool()) {
    throw RuntimeError(
        fmt::format("{}: '{}' object cannot be interpreted as an integer", what, v->type_name()));
  }
  return v->as_int();
}

const std::string& str_arg(const std::optional<Value>& v, const char* what) {
  if (!v || !v->is_string()) {
    throw RuntimeError(
        fmt::format("{}: expected a str argument, got {}", what, v ? v->type_name() : "nothing"));
  }
  return v->as_string();
}

List split_whitespace(const std::string& s, int64_t maxsplit) {
  List out;
  const std::u32string cps = utf8_decode(s);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && is_python_space(cps[i])) ++i;
    if (i >= cps.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
      out.emplace_back(utf8_encode(std::u32string_view(cps).substr(i)));
      break;
    }
    size_t j = i;
    while (j < cps.size() && !is_python_space(cps[j])) ++j;
    out.emplace_back(utf8_encode(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
  return out;
}

List split_on(const std::string& s, const std::string& sep, int64_t maxsplit) {
  if (sep.empty()) throw RuntimeError("empty separator");
  List out;
  size_t start = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    const size_t at = s.find(sep, start);
    if (at == std::string::npos) break;
    out.emplace_back(s.substr(start, at - start));
    start = at + sep.size();
  }
  out.emplace_back(s.substr(start));
  return out;
}

List rsplit_on(const std::string& s, const std::string& sep, int64_t maxsplit) {
  if (maxsplit < 0) return split_on(s, sep, maxsplit);
  if (sep.empty()) throw RuntimeError("empty separator");
  List reversed;
  size_t end = s.size();
  while (static_cast<int64_t>(reversed.size()) < maxsplit) {
    if (end < sep.size()) break;
    const size_t at = s.rfind(sep, end - sep.size());
    if (at == std::string::npos) break;
    reversed.emplace_back(s.substr(at + sep.size(), end - at - sep.size()));
    end = at;
  }
  reversed.emplace_back(s.substr(0, end));
  return List(reversed.rbegin(), reversed.rend());
}

bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) {
      throw RuntimeError(fmt::format("{} first arg must be str or a tuple of str, not {}",
                                     prefix ? "startswith" : "endswith", a.type_name()));
    }
    const std::string& x = a.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0
                  : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.kind() == Value::Kind::kTuple) {
    return std::any_of(affix.as_list().begin(), affix.as_list().end(), one);
  }
  return one(affix);
}

// str.format with positional/keyword fields and no format specs or conversions.
std::string str_format(const std::string& fmt_string, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt_string.size(); ++i) {
    const char c = fmt_string[i];
    if ((c == '{' || c == '}') && i + 1 < fmt_string.size() && fmt_string[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '}') throw RuntimeError("Single '}' encountered in format string");
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = fmt_string.find('}', i);
    if (close == std::string::npos) throw RuntimeError("Single '{' encountered in format string");
    const std::string field = fmt_string.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!.[") != std::string::npos) {
      throw UnsupportedFeature("str.format() with format specs, conversions or field access");
    }
    const Value* v = nullptr;
    if (field.empty() || std::all_of(field.begin(), field.end(), ::isdigit)) {
      const size_t index = field.empty() ? auto_index++ : std::stoul(field);
      if (index < args.positional.size()) v = &args.positional[index];
    } else {
      for (auto& [k, kv] : args.keyword) {
        if (k == field) v = &kv;
      }
    }
    if (!v) throw RuntimeError(fmt::format("Replacement index or key {} not found", field));
    out += v->str();
    i = close;
  }
  return out;
}

Value str_method(const std::string& s, const std::string& name, CallArgs& args) {
  if (one_of(name, {"strip", "lstrip", "rstrip"})) {
    auto a = bind_args(name, args, {"chars"});
    const std::string* chars = (a[0] && !a[0]->is_none()) ? &str_arg(a[0], "strip") : nullptr;
    return Value(python_strip(s, name != "rstrip", name != "lstrip", chars));
  }
  if (name == "split" || name == "rsplit") {
    auto a = bind_args(name, args, {"sep", "maxsplit"});
    const int64_t maxsplit = int_arg(a[1], -1, "split");
    if (!a[0] || a[0]->is_none()) {
      if (name == "rsplit" && maxsplit >= 0) {
        throw UnsupportedFeature("str.rsplit() on whitespace with maxsplit");
      }
      return Value::list(split_whitespace(s, maxsplit));
    }
    const std::string& sep = str_arg(a[0], "split");
    return Value::list(name == "split" ? split_on(s, sep, maxsplit) : rsplit_on(s, sep, maxsplit));
  }
  if (name == "startswith" || name == "endswith") {
    auto a = bind_args(name, args, {"prefix"});
    if (!a[0]) throw RuntimeError(name + "() takes at least 1 argument (0 given)");
    return Value(affix_match(s, *a[0], name == "startswith"));
  }
  if (one_of(name, {"upper", "lower", "title", "capitalize"})) {
    bind_args(name, args, {});
    if (name == "upper") return Value(py_upper(s));
    if (name == "lower") return Value(py_lower(s));
    return Value(name == "title" ? py_title(s) : py_capitalize(s));
  }
  if (name == "isupper" || name == "islower") {
    bind_args(name, args, {});
    return Value(name == "isupper" ? py_isupper(s) : py_islower(s));
  }
  if (name == "replace") {
    auto a = bind_args(name, args, {"old", "new", "count"});
    CallArgs filter_args;
    filter_args.positional = {Value(str_arg(a[0], "replace")), Value(str_arg(a[1], "replace")),
                              Value(int_arg(a[2], -1, "replace"))};
    return apply_filter("replace", Value(s), filter_args);
  }
  if (one_of(name, {"find", "rfind", "count", "index", "rindex"})) {
    auto a = bind_args(name, args, {"sub"});
    const std::string& sub = str_arg(a[0], name.c_str());
    if (name == "count") {
      if (sub.empty()) return Value(static_cast<int64_t>(utf8_decode(s).size() + 1));
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value(n);
    }
    const size_t at = name[0] == 'r' ? s.rfind(sub) : s.find(sub);
    if (at == std::string::npos) {
      if (name == "index" || name == "rindex") throw RuntimeError("substring not found");
      return Value(int64_t{-1});
    }
    return Value(static_cast<int64_t>(utf8_decode(std::string_view(s).substr(0, at)).size()));
  }
  if (name == "join") {
    auto a = bind_args(name, args, {"iterable"});
    if (!a[0]) throw RuntimeError("join() takes exactly one argument (0 given)");
    std::string out;
    const List items = iterate(*a[0]);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        throw RuntimeError(fmt::format("sequence item {}: expected str instance, {} found", i,
                                       items[i].type_name()));
      }
      if (i) out += s;
      out += items[i].as_string();
    }
    return Value(std::move(out));
  }
  if (name == "format") return Value(str_format(s, args));
  if (name == "splitlines") {
    bind_args(name, args, {});
    List out;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\n' && s[i] != '\r') continue;
      out.emplace_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
    if (start < s.size()) out.emplace_back(s.substr(start));
    return Value::list(std::move(out));
  }
  if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum") {
    bind_args(name, args, {});
    const std::u32string cps = utf8_decode(s);
    auto ok = [&](char32_t c) {
      if (name == "isspace") return is_python_space(c);
      const bool digit = c >= U'0' && c <= U'9';
      const bool alpha = (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || c >= 0x80;
      return name == "isdigit" ? digit : name == "isalpha" ? alpha : alpha || digit;
    };
    return Value(!cps.empty() && std::all_of(cps.begin(), cps.end(), ok));
  }
  throw UnsupportedFeature("str." + name + "()");
}

constexpr std::string_view kStrMethods[] = {
    "strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith", "upper", "lower",
    "title", "capitalize", "replace", "find", "rfind", "count", "index", "rindex", "join", "format",
    "splitlines", "isdigit", "isspace", "isalpha", "isalnum", "isupper", "islower",
    // Python has these; dpok reports them as unsupported when called.
    "center", "ljust", "rjust", "zfill", "casefold", "swapcase", "partition", "rpartition",
    "expandtabs", "encode", "isnumeric", "isdecimal", "istitle", "isidentifier", "isprintable",
    "removeprefix", "removesuffix", "translate", "maketrans", "format_map", "isascii"};

Value dict_method(const Dict& d, const std::string& name, CallArgs& args) {
  if (name == "get") {
    auto a = bind_args("get", args, {"key", "default"});
    if (!a[0]) throw RuntimeError("get expected at least 1 argument, got 0");
    const Value* v = d.find(*a[0]);
    return v ? *v : (a[1] ? *a[1] : Value::none());
  }
  bind_args(name, args, {});
  List out;
  for (const auto& [k, v] : d.items) {
    if (name == "keys") {
      out.push_back(k);
    } else if (name == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::list({k, v}, true));
    }
  }
  return Value::list(std::move(out));
}

Value list_method(const List& items, const std::string& name, CallArgs& args) {
  auto a = bind_args(name, args, {"value"});
  if (!a[0]) throw RuntimeError(name + "() takes exactly one argument (0 given)");
  int64_t count = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!equal(items[i], *a[0])) continue;
    if (name == "index") return Value(static_cast<int64_t>(i));
    ++count;
  }
  if (name == "index") throw RuntimeError(a[0]->repr() + " is not in list");
  return Value(count);
}

template <typename Fn>
Value bind_method(const std::string& name, Fn fn) {
  return Value::callable(name, [name, fn](CallArgs& args) { return fn(name, args); });
}

}  // namespace

Value get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) throw RuntimeError(obj.undefined_hint());
  if (name.rfind("__", 0) == 0) return unsafe(obj, name);
  switch (obj.kind()) {
    case Value::Kind::kString:
      if (std::find(std::begin(kStrMethods), std::end(kStrMethods), name) !=
          std::end(kStrMethods)) {
        return bind_method(name, [s = obj.as_string()](const std::string& n, CallArgs& a) {
          return str_method(s, n, a);
        });
      }
      return no_attribute(obj, name);
    case Value::Kind::kDict:
      if (one_of(name, {"items", "keys", "values", "get"})) {
        return bind_method(name, [obj](const std::string& n, CallArgs& a) {
          return dict_method(obj.as_dict(), n, a);
        });
      }
      if (one_of(name, {"pop", "popitem", "setdefault", "update", "clear"}))
        return unsafe(obj, name);
      if (const Value* v = obj.as_dict().find(Value(name))) return *v;
      return no_attribute(obj, name);
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      if (name == "index" || name == "count") {
        return bind_method(name, [obj](const std::string& n, CallArgs& a) {
          return list_method(obj.as_list(), n, a);
        });
      }
      if (obj.kind() == Value::Kind::kList &&
          one_of(name,
                 {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"})) {
        return unsafe(obj, name);
      }
      return no_attribute(obj, name);
    case Value::Kind::kObject: {
      if (const Value* v = obj.as_object().attributes.find(name)) return *v;
      return no_attribute(obj, name);
    }
    default:
      return no_attribute(obj, name);
  }
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) throw RuntimeError(obj.undefined_hint());
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().find(key)) return *v;
  } else if ((obj.is_sequence() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const auto cps = obj.is_string() ? utf8_decode(obj.as_string()) : std::u32string();
    const auto size = static_cast<int64_t>(obj.is_string() ? cps.size() : obj.as_list().size());
    int64_t i = key.as_int();
    if (i < 0) i += size;
    if (i >= 0 && i < size) {
      if (!obj.is_string()) return obj.as_list()[static_cast<size_t>(i)];
      std::string ch;
      utf8_append(ch, cps[static_cast<size_t>(i)]);
      return Value(std::move(ch));
    }
  }
  if (key.is_string()) return get_attribute(obj, key.as_string());
  return Value::undefined(fmt::format("{} has no element {}", object_type_repr(obj), key.repr()));
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) throw RuntimeError(obj.undefined_hint());
  auto valid = [](const Value& v) { return v.is_none() || v.is_int() || v.is_bool(); };
  if (!(obj.is_sequence() || obj.is_string()) || !valid(start) || !valid(stop) || !valid(step)) {
    return Value::undefined(fmt::format("{} cannot be sliced", object_type_repr(obj)));
  }
  const int64_t st = step.is_none() ? 1 : step.as_int();
  if (st == 0) throw RuntimeError("slice step cannot be zero");
  const std::u32string cps = obj.is_string() ? utf8_decode(obj.as_string()) : std::u32string();
  const auto len = static_cast<int64_t>(obj.is_string() ? cps.size() : obj.as_list().size());
  // PySlice_AdjustIndices
  auto adjust = [&](const Value& v, int64_t fallback) {
    if (v.is_none()) return fallback;
    int64_t i = v.as_int();
    if (i < 0) {
      i += len;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= len) {
      i = st < 0 ? len - 1 : len;
    }
    return i;
  };
  const int64_t b = adjust(start, st < 0 ? len - 1 : 0);
  const int64_t e = adjust(stop, st < 0 ? -1 : len);
  std::u32string s;
  List items;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    if (obj.is_string()) {
      s += cps[static_cast<size_t>(i)];
    } else {
      items.push_back(obj.as_list()[static_cast<size_t>(i)]);
    }
  }
  if (obj.is_string()) return Value(utf8_encode(s));
  return Value::list(std::move(items), obj.kind() == Value::Kind::kTuple);
}

List iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      return v.as_list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [k, value] : v.as_dict().items) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (char32_t c : utf8_decode(v.as_string())) chars.emplace_back(utf8_encode({&c, 1}));
      return chars;
    }
    default:
      throw RuntimeError(fmt::format("'{}' object is not iterable", v.type_name()));
  }
}

std::vector<std::optional<Value>> bind_args(std::string_view function, CallArgs& args,
                                            std::initializer_list<std::string_view> names) {
  std::vector<std::optional<Value>> bound(names.size());
  if (args.positional.size() > names.size()) {
    throw RuntimeError(fmt::format("{}() takes at most {} argument(s) ({} given)", function,
                                   names.size(), args.positional.size()));
  }
  for (size_t i = 0; i < args.positional.size(); ++i) bound[i] = args.positional[i];
  for (auto& [key, value] : args.keyword) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) {
      throw RuntimeError(
          fmt::format("{}() got an unexpected keyword argument '{}'", function, key));
    }
    const auto index = static_cast<size_t>(it - names.begin());
    if (bound[index]) {
      throw RuntimeError(fmt::format("{}() got multiple values for argument '{}'", function, key));
    }
    bound[index] = value;
  }
  return bound;
}

Value builtin_range(CallArgs& args) {
  auto a = bind_args("range", args, {"start", "stop", "step"});
  if (!a[0]) throw RuntimeError("range expected at least 1 argument, got 0");
  int64_t start = 0;
  int64_t stop = int_arg(a[0], 0, "range");
  if (a[1]) {
    start = stop;
    stop = int_arg(a[1], 0, "range");
  }
  const int64_t step = int_arg(a[2], 1, "range");
  if (step == 0) throw RuntimeError("range() arg 3 must not be zero");
  // The sandbox's MAX_RANGE.
  constexpr int64_t kMaxRange = 100000;
  const double count = std::max(0.0, std::ceil((static_cast<double>(stop) - start) / step));
  if (count > kMaxRange) {
    throw RuntimeError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    out.emplace_back(i);
    if (__builtin_add_overflow(i, step, &i)) break;  // the next value would pass int64 anyway
  }
  return Value::list(std::move(out));
}

Value builtin_dict(CallArgs& args) {
  Dict d;
  if (args.positional.size() > 1) throw RuntimeError("dict expected at most 1 argument");
  if (!args.positional.empty()) {
    const Value& source = args.positional[0];
    if (source.is_dict()) {
      d = source.as_dict();
    } else {
      for (const Value& pair : iterate(source)) {
        const List kv = iterate(pair);
        if (kv.size() != 2)
          throw RuntimeError("dictionary update sequence element has wrong length");
        d.set(kv[0], kv[1]);
      }
    }
  }
  for (auto& [k, v] : args.keyword) d.set(Value(k), v);
  return Value::dict(std::move(d));
}

Value builtin_strftime_now(CallArgs& args) {
  auto a = bind_args("strftime_now", args, {"format"});
  const std::string& format = str_arg(a[0], "strftime_now");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::string out(256 + format.size() * 8, '\0');
  const size_t n = std::strftime(out.data(), out.size(), format.c_str(), &local);
  out.resize(n);
  return Value(std::move(out));
}

}  // namespace dpok::text::jinja
