// Jinja built-ins: filters, tests, global functions and the methods of str/dict/list values.
//
// Each one reproduces jinja2 3.1's behaviour (or Python's, for methods) under transformers'
// ImmutableSandboxedEnvironment: `tojson` is transformers' json.dumps override, mutating methods
// (list.append, dict.update, ...) and `_`-prefixed attributes raise the sandbox's security error,
// range() is capped at 100,000 items like the sandbox's MAX_RANGE.
// Filters and tests jinja2 has but dpok does not implement are reported by *_status() so the
// parser can refuse them up front with UnsupportedError. All runtime failures throw
// jinja::RuntimeError with jinja2's message wording where practical.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dpok/text/jinja_value.h"

namespace dpok::text::jinja {

enum class BuiltinStatus { kSupported, kUnsupported, kUnknown };

BuiltinStatus filter_status(std::string_view name);
BuiltinStatus test_status(std::string_view name);

// Applies filter `name` to `value` (name must be supported).
Value apply_filter(const std::string& name, const Value& value, CallArgs& args);
// Applies test `name` to `value` (name must be supported).
bool apply_test(const std::string& name, const Value& value, CallArgs& args);

// obj.name as jinja2's sandboxed getattr sees it: a bound method, a dict item, an object
// attribute, or an undefined value carrying jinja2's "... has no attribute ..." hint.
Value get_attribute(const Value& obj, const std::string& name);
// obj[key] as jinja2's getitem: item lookup first, then attribute lookup for string keys.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] with Python semantics on lists, tuples and strings.
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// The items a for loop or a filter iterates: list/tuple elements, dict keys, string characters;
// undefined iterates as empty. Throws for non-iterables.
List iterate(const Value& v);

// Binds call arguments to parameter names (Python rules: positional, then keywords). Missing
// parameters are std::nullopt. Throws on too many or unknown arguments, naming `function`.
std::vector<std::optional<Value>> bind_args(std::string_view function, CallArgs& args,
                                            std::initializer_list<std::string_view> names);

// range(), dict(), strftime_now(): the globals that need no interpreter state.
Value builtin_range(CallArgs& args);
Value builtin_dict(CallArgs& args);
Value builtin_strftime_now(CallArgs& args);

}  // namespace dpok::text::jinja
