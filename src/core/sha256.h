// SHA-256 of bytes in memory (OpenSSL underneath). Files are hashed by sys/file_hash.h.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace kiln {

// Incremental SHA-256: Update() any number of times, then HexDigest() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // The lower-case hex digest of everything given so far; the object is finished after this.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// The lower-case hex HMAC-SHA256 of `data` under `key` (webhook signatures).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace kiln
