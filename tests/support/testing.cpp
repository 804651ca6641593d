// Test support implementation: asset lookup and temporary directories.
#include "support/testing.h"

#include <cstdlib>
#include <random>

namespace dpok::testing {

std::filesystem::path assets_dir() {
  return DPOK_BUNDLED_ASSETS;
}

std::filesystem::path find_asset(const std::string& relative) {
  if (const char* env = std::getenv("DPOK_ASSETS"); env != nullptr && *env != '\0') {
    if (auto path = std::filesystem::path(env) / relative; std::filesystem::exists(path))
      return path;
  }
  auto path = assets_dir() / relative;
  return std::filesystem::exists(path) ? path : std::filesystem::path{};
}

std::filesystem::path find_model(const std::string& relative) {
  const char* env = std::getenv("DPOK_MODELS");
  const std::filesystem::path root =
      env != nullptr && *env != '\0' ? std::filesystem::path(env) : DPOK_MODELS_DIR;
  auto path = root / relative;
  return std::filesystem::exists(path) ? path : std::filesystem::path{};
}

const std::string& python() {
  static const std::string interpreter = DPOK_PYTHON;
  return interpreter;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

TempDir::TempDir() {
  std::random_device rd;
  for (;;) {
    auto candidate = std::filesystem::temp_directory_path() / ("dpok-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace dpok::testing
