#pragma once
// libcurl, loaded on first use (see shared_library.hpp for why). Every
// libcurl call of the project goes through this table; the types and
// constants still come from <curl/curl.h>.
#include <curl/curl.h>

namespace envbuild::registry {

// X(member, libcurl function)
#define ENVBUILD_CURL_FUNCTIONS(X)                 \
  X(global_init, curl_global_init)                 \
  X(easy_init, curl_easy_init)                     \
  X(easy_cleanup, curl_easy_cleanup)               \
  X(easy_setopt, curl_easy_setopt)                 \
  X(easy_perform, curl_easy_perform)               \
  X(easy_getinfo, curl_easy_getinfo)               \
  X(easy_strerror, curl_easy_strerror)             \
  X(slist_append, curl_slist_append)               \
  X(slist_free_all, curl_slist_free_all)           \
  X(share_init, curl_share_init)                   \
  X(share_setopt, curl_share_setopt)               \
  X(share_cleanup, curl_share_cleanup)             \
  X(url, curl_url)                                 \
  X(url_cleanup, curl_url_cleanup)                 \
  X(url_set, curl_url_set)                         \
  X(url_get, curl_url_get)                         \
  X(free, curl_free)                               \
  X(getdate, curl_getdate)                         \
  X(multi_init, curl_multi_init)                   \
  X(multi_add_handle, curl_multi_add_handle)       \
  X(multi_remove_handle, curl_multi_remove_handle) \
  X(multi_perform, curl_multi_perform)             \
  X(multi_poll, curl_multi_poll)                   \
  X(multi_info_read, curl_multi_info_read)         \
  X(multi_cleanup, curl_multi_cleanup)             \
  X(multi_setopt, curl_multi_setopt)               \
  X(multi_strerror, curl_multi_strerror)

struct CurlLibrary {
#define ENVBUILD_CURL_SLOT(member, function) decltype(&::function) member = nullptr;
  ENVBUILD_CURL_FUNCTIONS(ENVBUILD_CURL_SLOT)
#undef ENVBUILD_CURL_SLOT
};

// Loads libcurl.so.4 and runs curl_global_init once per process (both are
// process-wide by nature; libcurl's init is not thread-safe, so this is the
// one place that does it). Thread-safe; throws Error(Internal) when libcurl
// is missing or too old.
const CurlLibrary& curl_library();

}  // namespace envbuild::registry
