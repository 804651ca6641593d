// Test helper: runs a Python reference script under the project environment's interpreter
// (testing::python(): numpy, scikit-learn, jinja2, transformers, … pinned by scripts/setup.sh) on
// JSON input and returns its JSON output. Tests skip outside CI when the interpreter or a module
// is missing, and fail under CI (scripts/setup.sh installs them).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "support/testing.h"

namespace dpok::testing {

// True when python() can import every module in `modules` (space-separated).
inline bool python_has(const std::string& modules) {
  std::string imports;
  std::istringstream in(modules);
  for (std::string m; in >> m;) imports += "import " + m + "; ";
  const std::string command = python() + " -c \"" + imports + "\" > /dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// Runs `script` with `input` as JSON on stdin; returns the JSON it prints, or nullopt on failure.
inline std::optional<nlohmann::json> run_python(const std::string& script,
                                                const nlohmann::json& input) {
  TempDir dir;
  {
    std::ofstream(dir / "script.py") << script;
    std::ofstream(dir / "input.json") << input.dump();
  }
  const std::string command = python() + " " + (dir / "script.py").string() + " < " +
                              (dir / "input.json").string() + " > " +
                              (dir / "output.json").string();
  if (std::system(command.c_str()) != 0) return std::nullopt;
  std::ifstream out(dir / "output.json");
  return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
}

}  // namespace dpok::testing

// Skips (fails under CI) when python() lacks `modules`.
#define DPOK_REQUIRE_PYTHON(modules)                                    \
  if (!::dpok::testing::python_has(modules)) {                          \
    if (::dpok::testing::running_in_ci())                               \
      FAIL() << ::dpok::testing::python() << " lacks " << (modules);    \
    GTEST_SKIP() << ::dpok::testing::python() << " lacks " << (modules) \
                 << " (scripts/setup.sh makes the environment)";        \
  }
