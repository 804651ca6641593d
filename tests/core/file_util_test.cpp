#include "dpok/core/file_util.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok {
namespace {

TEST(FileUtil, AtomicWriteThenReadRoundTrips) {
  testing::TempDir dir;
  auto path = dir / "a.txt";
  write_file_atomic(path, "hello");
  write_file_atomic(path, "world!");
  EXPECT_EQ(read_file(path), "world!");
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(FileUtil, MissingFileNamesThePath) {
  try {
    read_file("/nonexistent/dpok/file.json");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dpok/file.json"), std::string::npos);
  }
}

TEST(Error, CheckCarriesMessageAndLocation) {
  try {
    DPOK_CHECK(1 + 1 == 3, "arithmetic is {}", "broken");
    FAIL() << "expected InternalError";
  } catch (const InternalError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("arithmetic is broken"), std::string::npos);
    EXPECT_NE(what.find("file_util_test.cpp"), std::string::npos);
  }
}

}  // namespace
}  // namespace dpok
