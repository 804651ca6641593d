// File helpers: whole-file reads and atomic writes.
#include "dpok/core/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dpok/core/error.h"

namespace dpok {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) DPOK_THROW(IoError, "io", "cannot open {}: {}", path.string(), std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) DPOK_THROW(IoError, "io", "cannot read {}", path.string());
  return std::move(buffer).str();
}

void fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) DPOK_THROW(IoError, "io", "cannot open {} to sync: {}", path.string(), std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) DPOK_THROW(IoError, "io", "fsync failed on {}: {}", path.string(), std::strerror(errno));
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  auto tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) DPOK_THROW(IoError, "io", "cannot create {}: {}", tmp.string(), std::strerror(errno));
    const char* data = contents.data();
    size_t left = contents.size();
    while (left > 0) {
      ssize_t n = ::write(fd, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        DPOK_THROW(IoError, "io", "write failed on {}: {}", tmp.string(), std::strerror(errno));
      }
      data += n;
      left -= static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      DPOK_THROW(IoError, "io", "cannot flush {}: {}", tmp.string(), std::strerror(errno));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) DPOK_THROW(IoError, "io", "cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message());
  auto dir = path.parent_path();
  fsync_path(dir.empty() ? std::filesystem::path(".") : dir);
}

}  // namespace dpok
