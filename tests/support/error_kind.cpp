#include "tests/support/error_kind.hpp"

namespace envbuild::testing {

ErrorKind kind_of(const std::function<void()>& f, std::string* message) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  return static_cast<ErrorKind>(0);
}

}  // namespace envbuild::testing
