// Jinja interpreter: statements, expressions, scopes and limits (see jinja_eval.h).
#include "dpok/text/jinja_eval.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "dpok/core/error.h"
#include "dpok/text/chat_template.h"
#include "dpok/text/jinja_builtins.h"
#include "dpok/text/jinja_ops.h"

namespace dpok::text::jinja {
namespace {

struct Scope {
  std::map<std::string, Value, std::less<>> vars;
  std::shared_ptr<Scope> parent;
  bool captured = false;  // a macro defined here refers to it: never recycle
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { kNormal, kBreak, kContinue };

// Re-throws a runtime error with the position of the innermost node it escaped from.
[[noreturn]] void positioned(int line, int column, const RuntimeError& e) {
  if (dynamic_cast<const UnsupportedFeature*>(&e)) {
    DPOK_THROW(UnsupportedError, "chat_template", "line {}, column {}: {}", line, column, e.what());
  }
  DPOK_THROW(FormatError, "chat_template", "line {}, column {}: {}", line, column, e.what());
}

class Interpreter {
 public:
  Interpreter(const Value& variables, const RenderLimits& limits) : limits_(limits) {
    if (!variables.is_dict()) throw RuntimeError("render variables must be a mapping");
    for (const auto& [k, v] : variables.as_dict().items) {
      if (k.is_string()) variables_[k.as_string()] = v;
    }
    install_globals();
  }

  std::string run(const Body& body) {
    auto root = std::make_shared<Scope>();
    std::string out;
    exec(body, root, out);
    return out;
  }

 private:
  const RenderLimits& limits_;
  std::map<std::string, Value, std::less<>> variables_;
  std::map<std::string, Value, std::less<>> globals_;
  std::vector<std::unique_ptr<Object>> objects_;  // namespace() and loop objects of this render
  std::vector<Value> block_values_;               // operands of filter blocks being applied
  int depth_ = 0;
  int64_t steps_ = 0;

  class DepthGuard {
   public:
    explicit DepthGuard(Interpreter& in) : in_(in) {
      if (++in_.depth_ > in_.limits_.max_depth) {
        --in_.depth_;
        throw RuntimeError(
            fmt::format("template recursion deeper than {} levels (runaway macro recursion?)",
                        in_.limits_.max_depth));
      }
    }
    ~DepthGuard() { --in_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Interpreter& in_;
  };

  void step() {
    if (++steps_ > limits_.max_steps) {
      throw RuntimeError(
          fmt::format("template exceeded {} steps (runaway loop?)", limits_.max_steps));
    }
  }

  void append(std::string& out, const std::string& s) {
    if (out.size() + s.size() > limits_.max_output) {
      throw RuntimeError(fmt::format("template output exceeds {} bytes", limits_.max_output));
    }
    out += s;
  }

  Object* new_object(std::string type_name, bool is_namespace) {
    objects_.push_back(std::make_unique<Object>());
    objects_.back()->type_name = std::move(type_name);
    objects_.back()->is_namespace = is_namespace;
    return objects_.back().get();
  }

  void install_globals() {
    globals_["range"] = Value::callable("range", builtin_range);
    globals_["dict"] = Value::callable("dict", builtin_dict);
    globals_["strftime_now"] = Value::callable("strftime_now", builtin_strftime_now);
    globals_["raise_exception"] = Value::callable("raise_exception", [](CallArgs& args) -> Value {
      auto bound = bind_args("raise_exception", args, {"message"});
      throw ChatTemplateRaised(bound[0] ? bound[0]->str() : std::string());
    });
    globals_["namespace"] = Value::callable("namespace", [this](CallArgs& args) {
      Object* ns = new_object("Namespace", true);
      for (const Value& p : args.positional) {
        if (!p.is_dict()) throw RuntimeError("namespace() takes mappings as positional arguments");
        for (const auto& [k, v] : p.as_dict().items) ns->attributes[k.str()] = v;
      }
      for (auto& [k, v] : args.keyword) ns->attributes[k] = v;
      return Value::object(ns);
    });
  }

  Value lookup(const ScopePtr& scope, const std::string& name) const {
    for (const Scope* s = scope.get(); s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return it->second;
    }
    if (auto it = variables_.find(name); it != variables_.end()) return it->second;
    if (auto it = globals_.find(name); it != globals_.end()) return it->second;
    return Value::undefined(fmt::format("'{}' is undefined", name));
  }

  // ---------------------------------------------------------------- statements

  Flow exec(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const NodePtr& node : body) {
      const Flow flow = exec_node(*node, scope, out);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec_node(const Node& node, const ScopePtr& scope, std::string& out) {
    DepthGuard guard(*this);
    step();
    try {
      return exec_node_inner(node, scope, out);
    } catch (const RuntimeError& e) {
      positioned(node.line, node.column, e);
    }
  }

  Flow exec_node_inner(const Node& node, const ScopePtr& scope, std::string& out) {
    switch (node.kind) {
      case Node::Kind::kText:
        append(out, node.text);
        return Flow::kNormal;
      case Node::Kind::kOutput:
        append(out, eval(*node.expr, scope).str());
        return Flow::kNormal;
      case Node::Kind::kIf:
        for (size_t i = 0; i < node.bodies.size(); ++i) {
          if (i >= node.conditions.size() || eval(*node.conditions[i], scope).truthy()) {
            return exec(node.bodies[i], scope, out);
          }
        }
        return Flow::kNormal;
      case Node::Kind::kFor:
        exec_for(node, scope, out);
        return Flow::kNormal;
      case Node::Kind::kSet:
        exec_set(node, scope);
        return Flow::kNormal;
      case Node::Kind::kSetBlock:
        scope->vars[node.targets[0]] = render_block(node, scope);
        return Flow::kNormal;
      case Node::Kind::kFilterBlock:
        append(out, render_block(node, scope).str());
        return Flow::kNormal;
      case Node::Kind::kMacro:
        scope->vars[node.text] = make_macro(node, scope);
        return Flow::kNormal;
      case Node::Kind::kWith: {
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        for (size_t i = 0; i < node.targets.size(); ++i) {
          inner->vars[node.targets[i]] = eval(*node.values[i], scope);
        }
        return exec(node.body, inner, out);
      }
      case Node::Kind::kGeneration: {
        // transformers renders the body through a call block: its own scope.
        auto inner = std::make_shared<Scope>();
        inner->parent = scope;
        return exec(node.body, inner, out);
      }
      case Node::Kind::kBreak:
        return Flow::kBreak;
      case Node::Kind::kContinue:
        return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  // Binds `targets` to `value`, unpacking like Python when there are several.
  static void bind(Scope& scope, const std::vector<std::string>& targets, const Value& value) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = value;
      return;
    }
    if (value.is_undefined()) throw RuntimeError(value.undefined_hint());
    const List items = iterate(value);
    if (items.size() != targets.size()) {
      throw RuntimeError(
          items.size() > targets.size()
              ? fmt::format("too many values to unpack (expected {})", targets.size())
              : fmt::format("not enough values to unpack (expected {}, got {})", targets.size(),
                            items.size()));
    }
    for (size_t i = 0; i < items.size(); ++i) scope.vars[targets[i]] = items[i];
  }

  void exec_set(const Node& node, const ScopePtr& scope) {
    Value value = eval(*node.expr, scope);
    if (node.text.empty()) {
      bind(*scope, node.targets, value);
      return;
    }
    const Value target = lookup(scope, node.targets[0]);
    if (!target.is_object() || !target.as_object().is_namespace) {
      throw RuntimeError("cannot assign attribute on non-namespace object");
    }
    target.as_object().attributes[node.text] = std::move(value);
  }

  Value render_block(const Node& node, const ScopePtr& scope) {
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    std::string text;
    exec(node.body, inner, text);
    if (!node.expr) return Value(std::move(text));
    block_values_.push_back(Value(std::move(text)));
    Value result;
    try {
      result = eval(*node.expr, scope);
    } catch (...) {
      block_values_.pop_back();
      throw;
    }
    block_values_.pop_back();
    return result;
  }

  // A fresh child scope, or `reuse` emptied when nothing captured it: each loop iteration starts
  // from an empty scope as in jinja2, without an allocation per iteration.
  static ScopePtr fresh_scope(const ScopePtr& parent, ScopePtr reuse) {
    if (reuse && reuse.use_count() == 1 && !reuse->captured) {
      reuse->vars.clear();
      return reuse;
    }
    auto s = std::make_shared<Scope>();
    s->parent = parent;
    return s;
  }

  void exec_for(const Node& node, const ScopePtr& scope, std::string& out) {
    const Value iterable = eval(*node.expr, scope);
    List owned;
    const List* items = &owned;
    if (iterable.is_sequence() && !node.condition) {
      items = &iterable.as_list();  // no copy for the common `for x in list`
    } else {
      owned = iterate(iterable);
    }
    if (node.condition) {
      List kept;
      ScopePtr probe;
      for (Value& item : owned) {
        step();
        probe = fresh_scope(scope, std::move(probe));
        bind(*probe, node.targets, item);
        if (eval(*node.condition, probe).truthy()) kept.push_back(std::move(item));
      }
      owned = std::move(kept);
    }
    if (items->empty()) {
      exec(node.else_body, scope, out);
      return;
    }
    Object* loop = new_loop_object(static_cast<int64_t>(items->size()));
    Attributes& a = loop->attributes;
    const int64_t n = static_cast<int64_t>(items->size());
    ScopePtr inner;
    for (int64_t i = 0; i < n; ++i) {
      step();
      a["index0"] = Value(i);
      a["index"] = Value(i + 1);
      a["revindex"] = Value(n - i);
      a["revindex0"] = Value(n - i - 1);
      a["first"] = Value(i == 0);
      a["last"] = Value(i == n - 1);
      a["previtem"] = i > 0 ? (*items)[i - 1] : Value::undefined("there is no previous item");
      a["nextitem"] = i + 1 < n ? (*items)[i + 1] : Value::undefined("there is no next item");
      inner = fresh_scope(scope, std::move(inner));
      bind(*inner, node.targets, (*items)[i]);
      inner->vars["loop"] = Value::object(loop);
      if (exec(node.body, inner, out) == Flow::kBreak) break;
    }
  }

  // The `loop` object: counters are updated per iteration; cycle() and changed() read them.
  Object* new_loop_object(int64_t n) {
    Object* loop = new_object("LoopContext", false);
    loop->attributes["length"] = Value(n);
    loop->attributes["depth"] = Value(1);
    loop->attributes["depth0"] = Value(0);
    loop->attributes["index0"] = Value(int64_t{0});
    loop->attributes["cycle"] = Value::callable("cycle", [loop](CallArgs& args) -> Value {
      if (args.positional.empty()) throw RuntimeError("no items for cycling given");
      const int64_t i = loop->attributes["index0"].as_int();
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    });
    // loop.changed(*values): true when the values differ from the previous call's.
    auto last_changed = std::make_shared<std::optional<List>>();
    loop->attributes["changed"] = Value::callable("changed", [last_changed](CallArgs& args) {
      const Value current = Value::list(args.positional);
      if (*last_changed && equal(Value::list(**last_changed), current)) return Value(false);
      *last_changed = args.positional;
      return Value(true);
    });
    return loop;
  }

  Value make_macro(const Node& node, const ScopePtr& scope) {
    scope->captured = true;
    std::weak_ptr<Scope> home = scope;
    return Value::callable(node.text, [this, &node, home](CallArgs& args) {
      return call_macro(node, home.lock(), args);
    });
  }

  Value call_macro(const Node& node, ScopePtr home, CallArgs& args) {
    DepthGuard guard(*this);
    const auto& params = node.targets;
    if (args.positional.size() > params.size()) {
      throw RuntimeError(
          fmt::format("macro '{}' takes not more than {} argument(s)", node.text, params.size()));
    }
    auto frame = std::make_shared<Scope>();
    frame->parent = std::move(home);
    std::vector<bool> given(params.size(), false);
    for (size_t i = 0; i < args.positional.size(); ++i) {
      frame->vars[params[i]] = args.positional[i];
      given[i] = true;
    }
    for (auto& [key, value] : args.keyword) {
      const auto it = std::find(params.begin(), params.end(), key);
      if (it == params.end()) {
        throw RuntimeError(
            fmt::format("macro '{}' takes no keyword argument '{}'", node.text, key));
      }
      frame->vars[key] = value;
      given[static_cast<size_t>(it - params.begin())] = true;
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (given[i]) continue;
      frame->vars[params[i]] =
          node.values[i]
              ? eval(*node.values[i], frame)
              : Value::undefined(fmt::format("parameter '{}' was not provided", params[i]));
    }
    std::string out;
    exec(node.body, frame, out);
    return Value(std::move(out));
  }

  // ---------------------------------------------------------------- expressions

  Value eval(const Expr& e, const ScopePtr& scope) {
    DepthGuard guard(*this);
    try {
      return eval_inner(e, scope);
    } catch (const RuntimeError& err) {
      positioned(e.line, e.column, err);
    }
  }

  CallArgs eval_args(const Expr& e, const ScopePtr& scope, size_t first_positional) {
    CallArgs args;
    for (size_t i = first_positional; i < e.children.size(); ++i) {
      args.positional.push_back(eval(*e.children[i], scope));
    }
    for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
    return args;
  }

  Value eval_inner(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.literal;
      case Expr::Kind::kName:
        return lookup(scope, e.name);
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        List items;
        for (const auto& c : e.children) items.push_back(eval(*c, scope));
        return Value::list(std::move(items), e.kind == Expr::Kind::kTuple);
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          d.set(eval(*e.children[i], scope), eval(*e.children[i + 1], scope));
        }
        return Value::dict(std::move(d));
      }
      case Expr::Kind::kGetAttr:
        return get_attribute(eval(*e.children[0], scope), e.name);
      case Expr::Kind::kGetItem:
        return get_item(eval(*e.children[0], scope), eval(*e.children[1], scope));
      case Expr::Kind::kSlice: {
        auto part = [&](size_t i) {
          return e.children[i] ? eval(*e.children[i], scope) : Value::none();
        };
        return get_slice(eval(*e.children[0], scope), part(1), part(2), part(3));
      }
      case Expr::Kind::kCall:
        return eval_call(e, scope);
      case Expr::Kind::kFilter: {
        if (!e.children[0] && block_values_.empty()) throw RuntimeError("filter without operand");
        const Value operand = e.children[0] ? eval(*e.children[0], scope) : block_values_.back();
        CallArgs args = eval_args(e, scope, 1);
        return apply_filter(e.name, operand, args);
      }
      case Expr::Kind::kTest: {
        const Value operand = eval(*e.children[0], scope);
        CallArgs args = eval_args(e, scope, 1);
        return Value(apply_test(e.name, operand, args) != e.negated);
      }
      case Expr::Kind::kUnary: {
        const Value operand = eval(*e.children[0], scope);
        if (e.name == "not") return Value(!operand.truthy());
        return unary_op(e.name, operand);
      }
      case Expr::Kind::kBinary: {
        const Value left = eval(*e.children[0], scope);
        const Value right = eval(*e.children[1], scope);
        return binary_op(e.name, left, right, limits_.max_output);
      }
      case Expr::Kind::kCompare:
        return eval_compare(e, scope);
      case Expr::Kind::kAnd: {
        Value left = eval(*e.children[0], scope);
        return left.truthy() ? eval(*e.children[1], scope) : left;
      }
      case Expr::Kind::kOr: {
        Value left = eval(*e.children[0], scope);
        return left.truthy() ? left : eval(*e.children[1], scope);
      }
      case Expr::Kind::kCondition:
        if (eval(*e.children[1], scope).truthy()) return eval(*e.children[0], scope);
        if (e.children[2]) return eval(*e.children[2], scope);
        return Value::undefined(fmt::format(
            "the inline if-expression on line {} evaluated to false and no else section was "
            "defined.",
            e.line));
    }
    return Value();
  }

  Value eval_call(const Expr& e, const ScopePtr& scope) {
    const Value callee = eval(*e.children[0], scope);
    CallArgs args = eval_args(e, scope, 1);
    step();
    if (callee.is_callable()) return callee.as_callable().fn(args);
    if (callee.is_undefined()) throw RuntimeError(callee.undefined_hint());
    throw RuntimeError(fmt::format("'{}' object is not callable", callee.type_name()));
  }

  Value eval_compare(const Expr& e, const ScopePtr& scope) {
    Value left = eval(*e.children[0], scope);
    for (size_t i = 0; i < e.ops.size(); ++i) {
      Value right = eval(*e.children[i + 1], scope);
      if (!compare_op(e.ops[i], left, right)) return Value(false);
      left = std::move(right);
    }
    return Value(true);
  }
};

}  // namespace

std::string render(const Body& body, const Value& variables, const RenderLimits& limits) {
  try {
    Interpreter interpreter(variables, limits);
    return interpreter.run(body);
  } catch (const RuntimeError& e) {
    DPOK_THROW(FormatError, "chat_template", "{}", e.what());
  }
}

}  // namespace dpok::text::jinja
