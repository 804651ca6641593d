// Whole-file reads, atomic writes (the target appears only on commit; an abandoned write leaves
// nothing), and DPOK_CHECK's message.
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

namespace fs = std::filesystem;

TEST(AtomicFileWriter, CommitReplacesTarget) {
  testing::TempDir dir;
  write_file_atomic(dir / "t", "old");
  {
    AtomicFileWriter out(dir / "t");
    out.write("new ");
    out.write("contents");
    EXPECT_EQ(out.size(), 12u);
    EXPECT_EQ(read_file(dir / "t"), "old");  // untouched until commit
    EXPECT_TRUE(fs::exists(out.temp_path()));
    out.commit();
    EXPECT_FALSE(fs::exists(out.temp_path()));
  }
  EXPECT_EQ(read_file(dir / "t"), "new contents");
}

TEST(AtomicFileWriter, WriteAtOverwritesWrittenBytesOnly) {
  testing::TempDir dir;
  AtomicFileWriter out(dir / "t");
  out.write("....payload");
  out.write_at(0, std::as_bytes(std::span<const char>("HEAD", 4)));
  EXPECT_THROW(out.write_at(9, std::as_bytes(std::span<const char>("xyz", 3))), InternalError);
  out.commit();
  EXPECT_EQ(read_file(dir / "t"), "HEADpayload");
}

TEST(AtomicFileWriter, AbandonedWriteLeavesNothing) {
  testing::TempDir dir;
  write_file_atomic(dir / "t", "old");
  fs::path temp;
  try {
    AtomicFileWriter out(dir / "t");
    temp = out.temp_path();
    out.write("partial");
    throw std::runtime_error("simulated failure");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(read_file(dir / "t"), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicFileWriter, UncreatableTargetIsIoError) {
  testing::TempDir dir;
  EXPECT_THROW(AtomicFileWriter(dir / "no" / "such" / "dir"), IoError);
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
