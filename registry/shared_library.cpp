#include "registry/shared_library.hpp"

#include <dlfcn.h>

#include "registry/error.hpp"

namespace envbuild::registry {

SharedLibrary SharedLibrary::open(std::initializer_list<const char*> sonames,
                                  std::string_view purpose) {
  std::string why;
  for (const char* soname : sonames) {
    if (void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL)) return {handle, soname};
    const char* e = ::dlerror();
    if (why.empty() && e != nullptr) why = e;
  }
  throw Error(ErrorKind::Internal, "cannot load " + std::string(*sonames.begin()) +
                                       " (needed for " + std::string(purpose) + "): " + why);
}

SharedLibrary::SharedLibrary(SharedLibrary&& other) noexcept
    : handle_(other.handle_), soname_(std::move(other.soname_)) {
  other.handle_ = nullptr;
}

void* SharedLibrary::address(const char* name) const {
  ::dlerror();
  void* p = ::dlsym(handle_, name);
  if (p == nullptr) {
    throw Error(ErrorKind::Internal,
                soname_ + " has no symbol " + name + "; a newer version is needed");
  }
  return p;
}

}  // namespace envbuild::registry
