// Formatting tensor shapes for error messages ("[2, 17, 512]").
#pragma once

#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>

namespace dpok::model {

inline std::string shape_str(c10::IntArrayRef shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace dpok::model
