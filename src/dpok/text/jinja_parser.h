// Jinja parser: turns lexer tokens into the statement/expression tree the interpreter walks.
//
// Grammar and precedence follow jinja2 3.x's parser: conditional expressions, or/and/not,
// comparisons (chained, in / not in), + -, ~, * / // %, ** (left-associative as in jinja2),
// unary - +, then postfix (.attr, [index/slice], calls) interleaved with filters (`|f(args)`) and
// tests (`is [not] t args`). Statements: if/elif/else, for (targets, `if` filter, else), set
// (names, tuples, `ns.attr`, block set), macro, filter blocks, with, break/continue
// (loopcontrols), and transformers' `{% generation %}` marker.
// Anything else (include, import, extends, block, call, recursive loops, unknown filters/tests
// jinja2 has but dpok lacks) throws UnsupportedError naming the construct and line/column;
// grammar errors throw FormatError "[chat_template] line L, column C: ...". Nesting is bounded
// (kMaxNesting) so hostile templates cannot overflow the stack.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dpok/text/jinja_lexer.h"
#include "dpok/text/jinja_value.h"

namespace dpok::text::jinja {

inline constexpr int kMaxNesting = 200;

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,    // literal
    kName,       // name
    kList,       // children
    kTuple,      // children
    kDict,       // children: key, value, key, value, ...
    kGetAttr,    // children[0] . name
    kGetItem,    // children[0] [ children[1] ]
    kSlice,      // children[0] [ children[1] : children[2] : children[3] ] (null = omitted)
    kCall,       // children[0] ( children[1..], kwargs )
    kFilter,     // name, children[0] is the operand (null inside a filter block), args
    kTest,       // name, children[0] is the operand, args; negated for `is not`
    kUnary,      // name is "-", "+" or "not"
    kBinary,     // name is + - * / // % ** ~
    kCompare,    // children[0], then ops[i] applied to children[i + 1]
    kAnd,        // children[0] and children[1]
    kOr,         // children[0] or children[1]
    kCondition,  // children[0] if children[1] else children[2] (null: undefined)
  };
  Kind kind;
  int line = 0;
  int column = 0;
  Value literal;
  std::string name;
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // conditions[i] guards bodies[i]; a trailing extra body is the else branch
    kFor,          // targets in expr [if condition] body [else else_body]
    kSet,          // targets (or targets[0].attr) = expr
    kSetBlock,     // targets[0] = rendered body (filtered by expr when given)
    kMacro,        // name(params = defaults) body
    kFilterBlock,  // body rendered, then the filter chain in expr
    kWith,         // targets = values, body
    kBreak,
    kContinue,
    kGeneration,  // transformers' {% generation %} marker: renders its body
  };
  Kind kind;
  int line = 0;
  int column = 0;
  std::string text;  // kText: the text; kMacro: the macro name; kSet: attribute for ns.attr
  ExprPtr expr;
  ExprPtr condition;
  std::vector<std::string> targets;
  std::vector<ExprPtr> values;  // kWith values, kMacro defaults (null when none)
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
};

// Parses a whole template. Throws FormatError (syntax) or UnsupportedError (construct).
Body parse_template(const std::vector<Token>& tokens);

}  // namespace dpok::text::jinja
