// Streaming atomic writes: temporary file, fsync, rename, fsync the directory.
#include "dpok/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"

namespace dpok::io::detail {
namespace {

// Distinguishes concurrent writers in one process (e.g. shards written by several threads).
std::atomic<unsigned> temp_counter{0};

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(temp_counter++);
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    DPOK_THROW(IoError, "io", "cannot create {}: {}", temp_.string(), std::strerror(errno));
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFileWriter::write(std::span<const std::byte> bytes) {
  DPOK_CHECK(fd_ >= 0 && !committed_, "write after commit to {}", temp_.string());
  const std::byte* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    // Linux writes at most ~2 GiB per call; loop on short writes.
    ssize_t n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      DPOK_THROW(IoError, "io", "write failed on {}: {}", temp_.string(),
                 n < 0 ? std::strerror(errno) : "no progress");
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::write(std::string_view text) {
  write(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void AtomicFileWriter::commit() {
  DPOK_CHECK(fd_ >= 0 && !committed_, "commit twice to {}", temp_.string());
  int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    DPOK_THROW(IoError, "io", "cannot flush {}: {}", temp_.string(), std::strerror(err));
  }
  if (::close(fd) != 0) {
    DPOK_THROW(IoError, "io", "cannot close {}: {}", temp_.string(), std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) {
    DPOK_THROW(IoError, "io", "cannot rename {} to {}: {}", temp_.string(), target_.string(),
               ec.message());
  }
  committed_ = true;
  auto dir = target_.parent_path();
  fsync_path(dir.empty() ? std::filesystem::path(".") : dir);
}

}  // namespace dpok::io::detail
