#pragma once
// What kind of envbuild::Error a call throws, for tests that check the exit
// code a failure maps to.
#include <functional>
#include <string>

#include "registry/error.hpp"

namespace envbuild::testing {

// The kind thrown by `f` (its message into `message` when given);
// ErrorKind(0), which no error has, when `f` returns normally.
ErrorKind kind_of(const std::function<void()>& f, std::string* message = nullptr);

}  // namespace envbuild::testing
