#pragma once
// Turns the one exception type into a one-line message and the documented
// exit code, so every command fails the same way.
#include <functional>

namespace envbuild::cli {

// Runs `body`; on envbuild::Error prints "PROGRAM: error: MESSAGE" to stderr
// and returns the error's exit code; other exceptions exit with 5.
int run_main(const char* program, const std::function<int()>& body);

}  // namespace envbuild::cli
