// File helpers: whole-file reads and atomic writes (see file_util.h).
#include "dpok/core/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dpok/core/error.h"

namespace dpok {
namespace {

// Distinguishes concurrent writers in one process (e.g. shards written by several threads).
std::atomic<unsigned> temp_counter{0};

// Writes all of `bytes` at `offset` (or at the file position when offset < 0), looping on short
// writes: Linux writes at most ~2 GiB per call.
void write_all(int fd, std::span<const std::byte> bytes, int64_t offset,
               const std::filesystem::path& path) {
  const std::byte* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = offset < 0 ? ::write(fd, data, left) : ::pwrite(fd, data, left, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      DPOK_THROW(IoError, "io", "write failed on {}: {}", path.string(),
                 n < 0 ? std::strerror(errno) : "no progress");
    }
    data += n;
    left -= static_cast<size_t>(n);
    if (offset >= 0) offset += n;
  }
}

}  // namespace

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) DPOK_THROW(IoError, "io", "cannot open {}: {}", path.string(), std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) DPOK_THROW(IoError, "io", "cannot read {}", path.string());
  return std::move(buffer).str();
}

void fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    DPOK_THROW(IoError, "io", "cannot open {} to sync: {}", path.string(), std::strerror(errno));
  }
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    DPOK_THROW(IoError, "io", "fsync failed on {}: {}", path.string(), std::strerror(errno));
  }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  AtomicFileWriter out(path);
  out.write(contents);
  out.commit();
}

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
  write_all(fd_, bytes, -1, temp_);
  size_ += bytes.size();
}

void AtomicFileWriter::write(std::string_view text) {
  write(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void AtomicFileWriter::write_at(uint64_t offset, std::span<const std::byte> bytes) {
  DPOK_CHECK(fd_ >= 0 && !committed_, "write after commit to {}", temp_.string());
  DPOK_CHECK(offset <= size_ && bytes.size() <= size_ - offset,
             "write_at({}, {} bytes) beyond the {} bytes written to {}", offset, bytes.size(),
             size_, temp_.string());
  write_all(fd_, bytes, static_cast<int64_t>(offset), temp_);
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

}  // namespace dpok
