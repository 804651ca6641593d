// AtomicFileWriter: the target appears only on commit; an abandoned write leaves nothing.
#include "dpok/io/atomic_file.h"

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::io::detail {
namespace {

namespace fs = std::filesystem;

TEST(AtomicFileWriter, CommitReplacesTarget) {
  testing::TempDir dir;
  write_file_atomic(dir / "t", "old");
  {
    AtomicFileWriter out(dir / "t");
    out.write("new ");
    out.write("contents");
    EXPECT_EQ(read_file(dir / "t"), "old");  // untouched until commit
    EXPECT_TRUE(fs::exists(out.temp_path()));
    out.commit();
    EXPECT_FALSE(fs::exists(out.temp_path()));
  }
  EXPECT_EQ(read_file(dir / "t"), "new contents");
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

}  // namespace
}  // namespace dpok::io::detail
