#include "sys/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
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

bool Sha256File(const fs::path& path, std::string& hex) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.Update(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  hex = h.HexDigest();
  return true;
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
