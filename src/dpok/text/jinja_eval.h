// Jinja interpreter: renders a parsed template with jinja2's runtime semantics.
//
// Scoping follows jinja2: `set` writes the innermost scope; each for-loop iteration, macro call,
// `with` and filter/set block gets a fresh child scope (so a loop body's `set` is invisible after
// the loop and does not carry over to the next iteration); `if` does not open a scope;
// namespace() objects are the shared, mutable escape hatch. Name lookup walks the scopes, then
// the render variables, then the globals (range, dict, namespace, raise_exception,
// strftime_now).
// Hostile templates are stopped, not trusted: macro/eval recursion, total steps (loop
// iterations, statements, calls) and output size are bounded by RenderLimits.
// Errors: runtime failures throw FormatError "[chat_template] line L, column C: ..." where L:C is
// the innermost expression or statement that failed; raise_exception(msg) throws
// text::ChatTemplateRaised carrying msg.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dpok/text/jinja_parser.h"
#include "dpok/text/jinja_value.h"

namespace dpok::text::jinja {

struct RenderLimits {
  int max_depth = 400;                   // nested evaluation frames (macro calls count several)
  int64_t max_steps = 5'000'000;         // statements + loop iterations + calls
  size_t max_output = size_t{64} << 20;  // bytes of output, and of any one string built
};

// Renders `body` with `variables` (a dict of render variables; other kinds are rejected).
std::string render(const Body& body, const Value& variables, const RenderLimits& limits);

}  // namespace dpok::text::jinja
