// Expected failures: a file that cannot be read, a master that does not answer, a value a
// user got wrong. A function that can fail this way returns a `Status` (nothing else to give)
// or a `Result<T>` (a value or why not); both must be looked at ([[nodiscard]]). Bugs are not
// failures: they stop the process (core/check.h). ARCHITECTURE.md, "Errors".
//
//   Result<Config> ReadConfig(const fs::path& file);
//   Result<Config> config = ReadConfig(file);
//   if (!config.ok()) return config.status().Context("reading " + file.string());
//   Use(*config);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/check.h"

namespace kiln {

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  static Status Ok() { return Status(); }
  // A failure: `message` says what went wrong for a person; `code` (optional, kebab-case, as
  // the API's error codes) lets a caller act on the kind without reading the text.
  static Status Error(std::string message, std::string code = "") {
    KILN_CHECK(!message.empty(), "a failed Status says why");
    Status s;
    s.message_ = std::move(message);
    s.code_ = std::move(code);
    return s;
  }

  bool ok() const { return message_.empty(); }
  const std::string& code() const { return code_; }
  // What went wrong, with the context the callers added in front ("reading x: ...").
  const std::string& message() const { return message_; }

  // Says where the failure happened, as a caller higher up sees it: "what: message".
  Status Context(std::string_view what) && {
    if (!ok()) message_ = std::string(what) + ": " + message_;
    return std::move(*this);
  }
  Status Context(std::string_view what) const& { return Status(*this).Context(what); }

 private:
  std::string message_, code_;
};

// A value, or the Status that says why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}           // NOLINT: implicit, as `return value;`
  Result(Status failure) : status_(std::move(failure)) {  // NOLINT: `return Status::Error(..)`
    KILN_CHECK(!status_.ok(), "a Result without a value carries a failure");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const std::string& message() const { return status_.message(); }

  T& value() & {
    KILN_CHECK(ok(), "value() of a failed Result");
    return *value_;
  }
  const T& value() const& {
    KILN_CHECK(ok(), "value() of a failed Result");
    return *value_;
  }
  T&& value() && {
    KILN_CHECK(ok(), "value() of a failed Result");
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace kiln
