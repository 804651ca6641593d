// RAII wrapper over mmap(2) for whole-file read-only mappings.
#include "dpok/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dpok/core/error.h"

namespace dpok::io {
namespace {

// Closes a descriptor on every path out of open(); the mapping outlives it.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    DPOK_THROW(IoError, "io", "cannot open {}: {}", path.string(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    DPOK_THROW(IoError, "io", "cannot stat {}: {}", path.string(), std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    DPOK_THROW(IoError, "io", "cannot map {}: not a regular file", path.string());
  }
  // The object exists before the mapping, so its destructor unmaps on every later path.
  auto file = std::make_shared<MappedFile>(Key{}, path);
  auto size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (addr == MAP_FAILED) {
      DPOK_THROW(IoError, "io", "cannot map {} ({} bytes): {}", path.string(), size,
                 std::strerror(errno));
    }
    file->data_ = static_cast<const std::byte*>(addr);
    file->size_ = size;
  }
  return file;
}

MappedFile::MappedFile(Key, std::filesystem::path path) : path_(std::move(path)) {}

void MappedFile::release(const std::byte* begin, size_t nbytes) const {
  if (nbytes == 0) return;
  DPOK_CHECK(
      begin >= data_ && nbytes <= size_ && static_cast<size_t>(begin - data_) <= size_ - nbytes,
      "release range outside the mapping of {}", path_.string());
  // Round outwards to whole pages: dropping a neighbour's page is harmless (it faults back in).
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto first = reinterpret_cast<uintptr_t>(begin) / page * page;
  auto last = reinterpret_cast<uintptr_t>(begin + nbytes);
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace dpok::io
