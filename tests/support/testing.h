// Test support: where the shared assets live, how a test reacts when they are absent, and the
// one way tests check that code throws a given error with a given message.
//
// Assets are the repository's bundled files (assets/README.md); a file is looked for first under
// DPOK_ASSETS, where users put larger files of their own. Outside CI a test whose asset is missing
// is skipped with a message naming it; under CI (CI=true) a missing asset is a failure, so a broken
// checkout cannot pass silently.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "dpok/core/error.h"

namespace dpok::testing {

// The repository's assets/ folder.
std::filesystem::path assets_dir();

// DPOK_ASSETS / relative when that exists, else assets_dir() / relative, else an empty path.
std::filesystem::path find_asset(const std::string& relative);

// The real models scripts/fetch_models.sh extracts from PyPI packages: DPOK_MODELS / relative
// when set, else the repository's models/ folder / relative; an empty path when absent.
std::filesystem::path find_model(const std::string& relative);

// The project environment's Python interpreter (.venv/bin/python3, made by scripts/setup.sh with
// the pinned packages of scripts/requirements.txt), which runs the reference scripts.
const std::string& python();

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

// The message of the E that fn() throws, or "" when it returns normally. Any other exception
// propagates, so a wrong error type fails the test instead of passing as "no error".
template <typename E = ::dpok::Error, typename Fn>
std::string error_of(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

// Success when fn() throws an E whose message contains every fragment; otherwise a failure that
// says what happened instead. Use as EXPECT_TRUE(throws_with<ConfigError>([&] { ... }, {"key"})),
// so a failure points at the caller's line.
template <typename E = ::dpok::Error, typename Fn>
::testing::AssertionResult throws_with(Fn&& fn, std::initializer_list<std::string_view> fragments) {
  try {
    std::forward<Fn>(fn)();
  } catch (const E& e) {
    const std::string_view message = e.what();
    for (const auto fragment : fragments) {
      if (message.find(fragment) == std::string_view::npos) {
        return ::testing::AssertionFailure()
               << "message '" << message << "' lacks '" << fragment << "'";
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw another error type: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace dpok::testing

// Resolves `relative` among the fetched models into `var`, or skips (fails under CI, whose
// scripts/setup.sh fetches them) the test.
#define DPOK_REQUIRE_MODEL(var, relative)                                                        \
  const std::filesystem::path var = ::dpok::testing::find_model(relative);                       \
  if (var.empty()) {                                                                             \
    if (::dpok::testing::running_in_ci()) FAIL() << "missing model " << (relative);              \
    GTEST_SKIP() << "model " << (relative) << " not found (scripts/fetch_models.sh fetches it)"; \
  }

// Resolves `relative` under the assets root into `var`, or skips (fails under CI) the test.
#define DPOK_REQUIRE_ASSET(var, relative)                                                          \
  const std::filesystem::path var = ::dpok::testing::find_asset(relative);                         \
  if (var.empty()) {                                                                               \
    if (::dpok::testing::running_in_ci()) {                                                        \
      FAIL() << "missing asset " << (relative) << " under " << ::dpok::testing::assets_dir()       \
             << " (set DPOK_ASSETS)";                                                              \
    }                                                                                              \
    GTEST_SKIP() << "asset " << (relative) << " not found under " << ::dpok::testing::assets_dir() \
                 << " (set DPOK_ASSETS)";                                                          \
  }
