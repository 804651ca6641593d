// Jinja values: the dynamic type the chat-template interpreter computes with.
//
// Mirrors the Python objects jinja2 sees when transformers renders a chat template: None, bool,
// int, float, str, list, tuple, dict (insertion-ordered), namespace/loop objects, callables, and
// jinja2's default Undefined. Truthiness, str()/repr() printing, equality and ordering follow
// Python (1 == 1.0 == True, `{{ none }}` prints "None", lists print as `['a', 1]`).
// Lists, tuples and dicts are immutable once built (the sandbox forbids mutation), so they are
// shared by pointer. Objects (namespace(), loop) live in the interpreter's arena for one render
// and are referenced by plain non-owning pointers; values never outlive the render.
//
// Not covered: Python big integers (int64 overflow is an error), Markup's escaping arithmetic,
// full Unicode case mapping (upper/lower cover ASCII, Latin-1, Greek and Cyrillic).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dpok::text::jinja {

// A template runtime error (jinja2's TemplateRuntimeError, TypeError, UndefinedError, ...).
// The interpreter adds the template position before it leaves ChatTemplate::render.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A construct only detectable while rendering (e.g. a Python method dpok lacks); surfaces as
// dpok::UnsupportedError naming it and its position.
class UnsupportedFeature : public RuntimeError {
 public:
  explicit UnsupportedFeature(const std::string& what) : RuntimeError(what + " is not supported") {}
};

class Value;
using List = std::vector<Value>;

// Lists/dicts nest at most this deep (deeper values would overflow the stack when printed,
// compared or destroyed); building a deeper one throws RuntimeError.
inline constexpr int kMaxValueNesting = 256;

// An insertion-ordered dict with Python key equality (linear lookup: chat-template dicts are
// small).
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  void set(Value key, Value value);  // only while building
};

// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A built-in function, bound method or macro.
struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> fn;
};

// Insertion-ordered attributes (a namespace prints them in assignment order, like Python).
class Attributes {
 public:
  Value& operator[](std::string_view key);  // inserts undefined at the end when missing
  const Value* find(std::string_view key) const;
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::pair<std::string, Value>> items_;
};

// namespace() objects (mutable attributes) and the read-only `loop` object.
struct Object {
  std::string type_name;  // "Namespace" or "LoopContext"
  bool is_namespace = false;
  Attributes attributes;
};

class Value {
 public:
  enum class Kind : uint8_t {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kTuple,
    kDict,
    kObject,
    kCallable
  };

  Value() : kind_(Kind::kUndefined) {}
  static Value undefined(std::string hint);
  static Value none();
  Value(bool b) : kind_(Kind::kBool), int_(b ? 1 : 0) {}
  Value(int64_t i) : kind_(Kind::kInt), int_(i) {}
  Value(int i) : kind_(Kind::kInt), int_(i) {}
  Value(double f) : kind_(Kind::kFloat), float_(f) {}
  Value(std::string s) : kind_(Kind::kString), string_(std::move(s)) {}
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(List items, bool tuple = false);
  static Value dict(Dict d);
  static Value object(Object* o) { return Value(Kind::kObject, o); }
  static Value callable(std::string name, std::function<Value(CallArgs&)> fn);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || is_bool(); }
  bool is_sequence() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }  // also bool as 0/1
  double as_number() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return string_; }
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }
  Object& as_object() const { return *object_; }
  const Callable& as_callable() const { return *callable_; }
  const std::string& undefined_hint() const { return string_; }
  int nesting() const { return nesting_; }

  // Python's bool(x) (undefined is false).
  bool truthy() const;
  // Python's str(x); undefined renders as "".
  std::string str() const;
  // Python's repr(x).
  std::string repr() const;
  // Python's type name for error messages ("str", "dict", "NoneType", "Undefined", ...).
  std::string type_name() const;

 private:
  Value(Kind kind, Object* o) : kind_(kind), object_(o) {}

  Kind kind_;
  int nesting_ = 0;  // list/dict depth (1 + deepest child), see kMaxValueNesting
  int64_t int_ = 0;
  double float_ = 0.0;
  std::string string_;  // string value, or the undefined hint
  std::shared_ptr<const List> list_;
  std::shared_ptr<const Dict> dict_;
  Object* object_ = nullptr;  // non-owning: the interpreter's arena owns objects
  std::shared_ptr<const Callable> callable_;
};

// Python ==.
bool equal(const Value& a, const Value& b);
// Python <, as -1/0/1; throws RuntimeError where Python raises TypeError (or on undefined).
int compare(const Value& a, const Value& b);

// Converts a JSON value: objects keep key order, integers stay int, other numbers are float.
// Throws RuntimeError when nested deeper than kMaxValueNesting.
Value from_json(const nlohmann::ordered_json& json, int depth = 0);

// transformers' tojson: json.dumps(x, ensure_ascii, indent, separators, sort_keys).
struct JsonOptions {
  bool ensure_ascii = false;
  std::string indent;  // used when has_indent
  bool has_indent = false;
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonOptions& options);

// Python float repr: shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string float_repr(double f);

// Code points of a UTF-8 string (invalid bytes map to U+FFFD) and back.
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
void utf8_append(std::string& out, char32_t c);
// Decodes the code point at s[i] and advances i (invalid bytes give U+FFFD and advance by one).
char32_t utf8_next(std::string_view s, size_t& i);

// Python's str.isspace() for one code point (also what `\s` matches in jinja2's lexer).
bool is_python_space(char32_t c);
// Python's str.strip()/lstrip()/rstrip(): whitespace when `chars` is null, else those code points.
std::string python_strip(std::string_view s, bool left, bool right,
                         const std::string* chars = nullptr);

}  // namespace dpok::text::jinja
