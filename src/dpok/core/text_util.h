// Small text helpers shared by every configuration reader: the "did you mean" suggestion and
// ${VAR} expansion in paths. One owner each, so that the train, data and objective sections
// suggest and expand the same way.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dpok {

// Levenshtein distance (insertions, deletions and substitutions of bytes, each costing 1).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name` by edit_distance (the first one on ties); empty when there are
// no candidates.
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);

// "a, b, c".
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// Expands ${VAR} and ${VAR:-default} from the environment (paths such as
// ${DPOK_ASSETS:-/data}/models/...). An empty variable counts as unset. Throws
// ConfigError on an unset variable without a default, or an unterminated "${".
std::string expand_env(const std::string& text);

}  // namespace dpok
