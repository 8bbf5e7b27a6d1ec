#include "registry/curl_library.hpp"

#include <mutex>

#include "registry/error.hpp"
#include "registry/shared_library.hpp"

namespace envbuild::registry {

namespace {

CurlLibrary load() {
  static SharedLibrary lib = SharedLibrary::open({"libcurl.so.4"}, "registry access");
  CurlLibrary api;
#define ENVBUILD_CURL_BIND(member, function) lib.bind(api.member, #function);
  ENVBUILD_CURL_FUNCTIONS(ENVBUILD_CURL_BIND)
#undef ENVBUILD_CURL_BIND
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw Error(ErrorKind::Internal, "curl_global_init failed");
  }
  return api;
}

}  // namespace

const CurlLibrary& curl_library() {
  // A function-local static: initialised once, thread-safely; a failed load
  // throws and is tried again by the next caller.
  static const CurlLibrary api = load();
  return api;
}

}  // namespace envbuild::registry
