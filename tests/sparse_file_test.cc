// Copying a disk image out of the cache and hashing it: holes are neither read nor written,
// blocks of zeros become holes, and the bytes (and their SHA-256) are the same as a plain read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/sha256.h"
#include "sys/files.h"

namespace kiln::sys {
namespace {

namespace fs = std::filesystem;

class SparseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln-sparse-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void WriteAt(const fs::path& file, off_t at, const std::string& bytes) {
    int fd = open(file.c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), at), static_cast<ssize_t>(bytes.size()));
    close(fd);
  }
  static std::string Whole(const fs::path& file) {
    std::string bytes(fs::file_size(file), '\0');
    std::ifstream(file, std::ios::binary).read(bytes.data(), static_cast<long>(bytes.size()));
    return bytes;
  }
  static long long Allocated(const fs::path& file) {
    struct stat st {};
    stat(file.c_str(), &st);
    return static_cast<long long>(st.st_blocks) * 512;
  }

  fs::path dir_;
};

TEST_F(SparseFileTest, ACopyHasTheSameBytesAndHashAndStaysSparse) {
  fs::path image = dir_ / "disk.raw";
  // 64 MiB, mostly holes: data at the start, a run of 1 MiB with 256 KiB of zeros inside it
  // (written as data), and a last byte.
  WriteAt(image, 0, std::string(4096, 'a'));
  std::string run(1 << 20, 'b');
  std::fill(run.begin() + (256 << 10), run.begin() + (512 << 10), '\0');
  WriteAt(image, 8 << 20, run);
  WriteAt(image, (64 << 20) - 1, "z");
  ASSERT_EQ(fs::file_size(image), 64u << 20);

  std::string expected = Sha256Hex(Whole(image));
  std::string hashed;
  ASSERT_TRUE(Sha256File(image, hashed));
  EXPECT_EQ(hashed, expected);

  std::string copied_sha;
  fs::path copy = dir_ / "copy.raw";
  Status copied = CopySparseFile(image, copy, &copied_sha);
  ASSERT_TRUE(copied.ok()) << copied.message();
  EXPECT_EQ(copied_sha, expected);
  EXPECT_EQ(fs::file_size(copy), 64u << 20);
  EXPECT_EQ(Whole(copy), Whole(image));
  // The zeros inside the data run became a hole: the copy takes less than the original.
  EXPECT_LE(Allocated(copy), Allocated(image) - (256 << 10)) << Allocated(image);
  EXPECT_LT(Allocated(copy), 2 << 20);

  std::string again;
  ASSERT_TRUE(Sha256File(copy, again));
  EXPECT_EQ(again, expected);
}

TEST_F(SparseFileTest, AnEmptyFileAndAFileOfOnlyAHole) {
  fs::path empty = dir_ / "empty";
  std::ofstream(empty).close();
  fs::path hole = dir_ / "hole";
  std::ofstream(hole).close();
  fs::resize_file(hole, 3 << 20);
  for (const fs::path& f : {empty, hole}) {
    std::string sha, copied;
    ASSERT_TRUE(Sha256File(f, sha));
    EXPECT_EQ(sha, Sha256Hex(Whole(f)));
    fs::path copy = dir_ / (f.filename().string() + ".copy");
    Status status = CopySparseFile(f, copy, &copied);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_EQ(copied, sha);
    EXPECT_EQ(fs::file_size(copy), fs::file_size(f));
    EXPECT_EQ(Allocated(copy), 0);
  }
}

TEST_F(SparseFileTest, FailuresSayWhy) {
  std::string sha;
  EXPECT_FALSE(Sha256File(dir_ / "missing", sha));
  Status copied = CopySparseFile(dir_ / "missing", dir_ / "out", &sha);
  EXPECT_FALSE(copied.ok());
  EXPECT_NE(copied.message().find("cannot open"), std::string::npos) << copied.message();
  fs::path from = dir_ / "from";
  std::ofstream(from) << "bytes";
  copied = CopySparseFile(from, dir_ / "no-such-dir" / "out", nullptr);
  EXPECT_FALSE(copied.ok());
  EXPECT_NE(copied.message().find("cannot create"), std::string::npos) << copied.message();
  // Writing past a full device: /dev/full takes nothing.
  if (fs::exists("/dev/full")) {
    copied = CopySparseFile(from, "/dev/full", nullptr);
    EXPECT_FALSE(copied.ok());
    EXPECT_NE(copied.message().find("No space left on device"), std::string::npos)
        << copied.message();
  }
}

}  // namespace
}  // namespace kiln::sys
