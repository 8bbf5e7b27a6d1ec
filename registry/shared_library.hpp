#pragma once
// A shared library opened when first needed (dlopen) instead of at program
// start. Debian's libcurl and libgit2 each pull in dozens of libraries whose
// mapping and relocation cost milliseconds on every start; commands that
// never touch the network or git should not pay for them.
#include <initializer_list>
#include <string>
#include <string_view>

namespace envbuild::registry {

class SharedLibrary {
 public:
  // Opens the first of `sonames` that loads; throws Error(Internal) "cannot
  // load <soname> (needed for <purpose>): <dlerror>" when none does.
  static SharedLibrary open(std::initializer_list<const char*> sonames, std::string_view purpose);

  SharedLibrary(SharedLibrary&& other) noexcept;
  SharedLibrary& operator=(SharedLibrary&&) = delete;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;
  // Never unloaded: libraries such as libcurl keep thread-local and atexit
  // state that must outlive every caller.
  ~SharedLibrary() = default;

  // The address of `name`; throws Error(Internal) when the library lacks it
  // (an older version than the one we build against).
  void* address(const char* name) const;
  template <typename F>
  void bind(F& slot, const char* name) const {
    slot = reinterpret_cast<F>(address(name));
  }

 private:
  SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
  void* handle_ = nullptr;
  std::string soname_;
};

}  // namespace envbuild::registry
