// Small file helpers shared by the stages: whole-file reads, writes that never leave half a
// file, and SHA-256 of a file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/status.h"

namespace kiln::sys {

// The whole file as text; "" if it cannot be read.
std::string ReadFileText(const std::filesystem::path& path);

// Writes `text` to a temporary file beside `path`, sets `mode`, then renames it into place:
// readers see the old file or the new one, never a part. Parent directories are created.
// False (and the old file as it was) when it cannot be written whole (a full disk).
bool WriteFileAtomic(const std::filesystem::path& path, const std::string& text,
                     mode_t mode = 0644);

// The lower-case hex SHA-256 of a file's bytes; false if it cannot be read. Holes in a sparse
// file are hashed as the zeros they read as, without reading them.
bool Sha256File(const std::filesystem::path& path, std::string& hex);

// Copies `from` to `to` (created or truncated) keeping it sparse: holes stay holes, and 64 KiB
// blocks of zeros become holes. With `sha256_hex`, also the SHA-256 of its bytes, in the same
// pass. Fails with the system's reason (a full disk); `to` may then hold a part, for the
// caller to remove.
Status CopySparseFile(const std::filesystem::path& from, const std::filesystem::path& to,
                      std::string* sha256_hex);

// The disk space a tree takes: allocated blocks of its regular files (a sparse disk image
// counts what it holds; hard links count once per name). Symlinks are not followed.
uint64_t TreeAllocatedBytes(const std::filesystem::path& dir);

}  // namespace kiln::sys
