#pragma once
// The one exception type that crosses module boundaries. Each error carries a
// kind that maps to a documented process exit code, so schedulers can tell a
// typo from an outage.
#include <stdexcept>
#include <string>

namespace envbuild {

enum class ErrorKind {
  BadInput = 1,   // malformed reference, file, flag, manifest
  NotFound = 2,   // blob, manifest, tag or repository absent
  Auth = 3,       // credentials missing or refused
  Registry = 4,   // registry or network failure after retries
  Internal = 5,   // a bug or an environment problem (disk full, ...)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

}  // namespace envbuild
