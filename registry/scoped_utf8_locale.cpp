#include "registry/scoped_utf8_locale.hpp"

#include "registry/error.hpp"

namespace envbuild::registry {

ScopedUtf8Locale::ScopedUtf8Locale() {
  utf8_ = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  if (utf8_ == static_cast<locale_t>(0))
    throw Error(ErrorKind::Internal, "the C.UTF-8 locale is not available (needed for tar names)");
  previous_ = ::uselocale(utf8_);
}

ScopedUtf8Locale::~ScopedUtf8Locale() {
  ::uselocale(previous_);
  ::freelocale(utf8_);
}

}  // namespace envbuild::registry
