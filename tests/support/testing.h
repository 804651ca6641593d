// Test support: where the shared assets live, and how a test reacts when they are absent.
//
// Assets are found through DPOK_ASSETS (default: ../shared/assets next to the checkout).
// Outside CI a test whose asset is missing is skipped with a message naming it; under CI
// (CI=true) a missing asset is a failure, so a broken checkout cannot pass silently.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace dpok::testing {

// The assets root (DPOK_ASSETS, else the compiled-in default).
std::filesystem::path assets_dir();

// assets_dir() / relative, or an empty path when it does not exist.
std::filesystem::path find_asset(const std::string& relative);

// True under CI (environment variable CI=true).
bool running_in_ci();

// A fresh, empty temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace dpok::testing

// Resolves `relative` under the assets root into `var`, or skips (fails under CI) the test.
#define DPOK_REQUIRE_ASSET(var, relative)                                                  \
  const std::filesystem::path var = ::dpok::testing::find_asset(relative);                \
  if (var.empty()) {                                                                       \
    if (::dpok::testing::running_in_ci()) {                                                \
      FAIL() << "missing asset " << (relative) << " under " << ::dpok::testing::assets_dir() \
             << " (set DPOK_ASSETS)";                                                      \
    }                                                                                      \
    GTEST_SKIP() << "asset " << (relative) << " not found under "                         \
                 << ::dpok::testing::assets_dir() << " (set DPOK_ASSETS)";                 \
  }
