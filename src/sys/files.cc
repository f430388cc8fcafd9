#include "sys/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "core/sha256.h"

namespace kiln::sys {
namespace fs = std::filesystem;

std::string ReadFileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFileAtomic(const fs::path& path, const std::string& text, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  // Unique per call: two threads may write the same path at once.
  static std::atomic<unsigned> serial{0};
  fs::path tmp = path;
  tmp += ".kiln-tmp." + std::to_string(getpid()) + "." + std::to_string(++serial);
  bool written = false;
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << text;
    out.close();
    written = out.good();
  }
  // A short write (a full disk) never replaces the old file.
  if (!written || chmod(tmp.c_str(), mode) != 0) {
    fs::remove(tmp, ec);
    return false;
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
  return !ec;
}

namespace {

constexpr size_t kChunk = 1 << 20;

// A chunk of zeros: what a hole reads as, given to the hash without reading it.
const char* Zeros() {
  static const std::vector<char> zeros(kChunk, '\0');
  return zeros.data();
}

// Walks a file of `size` bytes as data and holes (SEEK_DATA/SEEK_HOLE): `data(offset, length)`
// for each run that may hold data, `hole(length)` for each run that holds none. A disk image
// is mostly holes; reading them would fill the page cache with zeros. False when `data` is.
bool ForEachRun(int fd, off_t size, const std::function<bool(off_t, off_t)>& data,
                const std::function<void(off_t)>& hole) {
  off_t pos = 0;
  while (pos < size) {
    off_t start = lseek(fd, pos, SEEK_DATA);
    if (start < 0) start = errno == ENXIO ? size : pos;  // no more data, or no SEEK_DATA
    start = std::min(start, size);
    if (start > pos) hole(start - pos);
    if (start >= size) break;
    off_t end = lseek(fd, start, SEEK_HOLE);
    if (end < 0 || end > size) end = size;
    if (!data(start, end - start)) return false;
    pos = end;
  }
  return true;
}

void HashZeros(Sha256& h, off_t length) {
  while (length > 0) {
    size_t n = static_cast<size_t>(std::min<off_t>(length, kChunk));
    h.Update(std::string_view(Zeros(), n));
    length -= static_cast<off_t>(n);
  }
}

// Reads `length` bytes at `offset` in chunks, giving each to `chunk(bytes, n, at)`.
bool ReadRun(int fd, off_t offset, off_t length, std::vector<char>& buf,
             const std::function<bool(const char*, size_t, off_t)>& chunk) {
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<off_t>(length, static_cast<off_t>(buf.size())));
    ssize_t n = pread(fd, buf.data(), want, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // an error, or the file shrank under us
    if (!chunk(buf.data(), static_cast<size_t>(n), offset)) return false;
    offset += n;
    length -= n;
  }
  return true;
}

}  // namespace

bool Sha256File(const fs::path& path, std::string& hex) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = fstat(fd, &st) == 0;
  Sha256 h;
  std::vector<char> buf(kChunk);
  ok = ok && ForEachRun(
                 fd, st.st_size,
                 [&](off_t offset, off_t length) {
                   return ReadRun(fd, offset, length, buf, [&](const char* p, size_t n, off_t) {
                     h.Update(std::string_view(p, n));
                     return true;
                   });
                 },
                 [&](off_t length) { HashZeros(h, length); });
  close(fd);
  if (ok) hex = h.HexDigest();
  return ok;
}

Status CopySparseFile(const fs::path& from, const fs::path& to, std::string* sha256_hex) {
  int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::Error("cannot open " + from.string() + ": " + std::strerror(errno));
  int out = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    Status failed = Status::Error("cannot create " + to.string() + ": " + std::strerror(errno));
    close(in);
    return failed;
  }
  std::string error;
  struct stat st {};
  Sha256 h;
  std::vector<char> buf(kChunk);
  constexpr size_t kBlock = 64 << 10;  // a block of zeros inside data is left a hole too
  auto write_chunk = [&](const char* p, size_t n, off_t at) {
    if (sha256_hex != nullptr) h.Update(std::string_view(p, n));
    for (size_t done = 0; done < n;) {
      size_t len = std::min(kBlock, n - done);
      if (std::memcmp(p + done, Zeros(), len) != 0) {
        for (size_t w = 0; w < len;) {
          ssize_t k = pwrite(out, p + done + w, len - w, at + static_cast<off_t>(done + w));
          if (k < 0 && errno == EINTR) continue;
          if (k <= 0) {
            error = "cannot write " + to.string() + ": " + std::strerror(k < 0 ? errno : ENOSPC);
            return false;
          }
          w += static_cast<size_t>(k);
        }
      }
      done += len;
    }
    return true;
  };
  bool ok = fstat(in, &st) == 0;
  if (!ok) error = "cannot read " + from.string() + ": " + std::strerror(errno);
  ok = ok && ForEachRun(
                 in, st.st_size,
                 [&](off_t offset, off_t length) {
                   if (ReadRun(in, offset, length, buf, write_chunk)) return true;
                   if (error.empty()) error = "cannot read " + from.string();
                   return false;
                 },
                 [&](off_t length) {
                   if (sha256_hex != nullptr) HashZeros(h, length);
                 });
  if (ok && ftruncate(out, st.st_size) != 0) {  // a hole at the end, and the exact size
    error = "cannot write " + to.string() + ": " + std::strerror(errno);
    ok = false;
  }
  close(in);
  if (close(out) != 0 && ok) {
    error = "cannot write " + to.string() + ": " + std::strerror(errno);
    ok = false;
  }
  if (ok && sha256_hex != nullptr) *sha256_hex = h.HexDigest();
  return ok ? Status::Ok() : Status::Error(error);
}

uint64_t TreeAllocatedBytes(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code ec;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    struct stat st {};
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

}  // namespace kiln::sys
