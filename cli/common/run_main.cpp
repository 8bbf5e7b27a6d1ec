#include "cli/common/run_main.hpp"

#include <cstdio>
#include <exception>
#include <new>

#include "registry/error.hpp"

namespace envbuild::cli {

int run_main(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory\n", program);
    return static_cast<int>(ErrorKind::Internal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", program, e.what());
    return static_cast<int>(ErrorKind::Internal);
  }
}

}  // namespace envbuild::cli
