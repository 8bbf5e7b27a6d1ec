#pragma once
// Switches the calling thread (only) to the C.UTF-8 locale for its lifetime.
// libarchive converts tar names through the current locale; pinning it makes
// layer bytes and extracted names independent of the process's LANG/LC_*
// and of setlocale() calls elsewhere. Throws Error(Internal) if the locale
// is missing, rather than silently producing locale-dependent output.
#include <locale.h>

namespace envbuild::registry {

class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale();
  ~ScopedUtf8Locale();
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t utf8_ = nullptr;
  locale_t previous_ = nullptr;
};

}  // namespace envbuild::registry
