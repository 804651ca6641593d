// MappedFile: contents, empty files, lifetime through shared ownership, and errors.
#include "dpok/io/mapped_file.h"

#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

TEST(MappedFile, MapsContents) {
  testing::TempDir dir;
  write_file_atomic(dir / "f", "hello mapped world");
  auto file = MappedFile::open(dir / "f");
  ASSERT_EQ(file->size(), 18u);
  EXPECT_EQ(std::memcmp(file->data(), "hello mapped world", 18), 0);
  EXPECT_EQ(file->path(), dir / "f");
}

TEST(MappedFile, MappingOutlivesTheFileName) {
  testing::TempDir dir;
  write_file_atomic(dir / "f", "abc");
  auto file = MappedFile::open(dir / "f");
  std::filesystem::remove(dir / "f");
  EXPECT_EQ(std::memcmp(file->data(), "abc", 3), 0);
}

TEST(MappedFile, ReleasedPagesStayReadable) {
  testing::TempDir dir;
  std::string contents(3 * 4096 + 100, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i % 251);
  write_file_atomic(dir / "f", contents);
  auto file = MappedFile::open(dir / "f");
  ASSERT_EQ(std::memcmp(file->data(), contents.data(), contents.size()), 0);
  file->release(file->data() + 10, 5000);
  file->release(file->data(), file->size());
  file->release(file->data() + file->size(), 0);
  EXPECT_EQ(std::memcmp(file->data(), contents.data(), contents.size()), 0);
  EXPECT_THROW(file->release(file->data() + 1, file->size()), InternalError);
}

TEST(MappedFile, EmptyFileHasNoData) {
  testing::TempDir dir;
  write_file_atomic(dir / "empty", "");
  auto file = MappedFile::open(dir / "empty");
  EXPECT_EQ(file->size(), 0u);
  EXPECT_EQ(file->data(), nullptr);
}

TEST(MappedFile, ErrorsNameThePath) {
  testing::TempDir dir;
  try {
    MappedFile::open(dir / "absent");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "absent").string()), std::string::npos);
  }
  try {
    MappedFile::open(dir.path());
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dpok::io
