#include "registry/tar_source.hpp"

#include <cerrno>

#include "registry/error.hpp"

namespace envbuild::registry {

size_t TarSource::pull() {
  size_t n = source->read(buf.data(), buf.size());
  size += n;
  if (size > limit)
    throw Error(ErrorKind::BadInput, name + " exceeds the uncompressed size limit of " +
                                         std::to_string(limit) + " bytes");
  diff.update(buf.data(), n);
  return n;
}

la_ssize_t tar_read_cb(struct archive* a, void* ctx, const void** out) {
  auto* src = static_cast<TarSource*>(ctx);
  try {
    size_t n = src->pull();
    *out = src->buf.data();
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    src->error = std::current_exception();
    archive_set_error(a, EIO, "layer stream failed");
    return -1;
  }
}

}  // namespace envbuild::registry
