#pragma once
// libgit2, loaded on first use (registry/shared_library.hpp says why): an
// unchanged push reuses its cached git metadata and never loads it. Every
// libgit2 call of the project goes through this table; types and constants
// still come from <git2.h>.
#include <git2.h>

#include <memory>

namespace envbuild::snapshot {

// X(member, libgit2 function)
#define ENVBUILD_GIT_FUNCTIONS(X)                                   \
  X(libgit2_init, git_libgit2_init)                                 \
  X(libgit2_shutdown, git_libgit2_shutdown)                         \
  X(error_last, git_error_last)                                     \
  X(repository_open, git_repository_open)                           \
  X(repository_open_ext, git_repository_open_ext)                   \
  X(repository_free, git_repository_free)                           \
  X(repository_workdir, git_repository_workdir)                     \
  X(repository_path, git_repository_path)                           \
  X(repository_head, git_repository_head)                           \
  X(repository_head_detached, git_repository_head_detached)         \
  X(repository_index, git_repository_index)                         \
  X(reference_lookup, git_reference_lookup)                         \
  X(reference_free, git_reference_free)                             \
  X(reference_symbolic_target, git_reference_symbolic_target)       \
  X(reference_shorthand, git_reference_shorthand)                   \
  X(reference_peel, git_reference_peel)                             \
  X(reference_name_to_id, git_reference_name_to_id)                 \
  X(object_free, git_object_free)                                   \
  X(object_id, git_object_id)                                       \
  X(oid_tostr, git_oid_tostr)                                       \
  X(oid_fromraw, git_oid_fromraw)                                   \
  X(oid_cmp, git_oid_cmp)                                           \
  X(remote_lookup, git_remote_lookup)                               \
  X(remote_list, git_remote_list)                                   \
  X(remote_free, git_remote_free)                                   \
  X(remote_url, git_remote_url)                                     \
  X(strarray_dispose, git_strarray_dispose)                         \
  X(status_list_new, git_status_list_new)                           \
  X(status_list_entrycount, git_status_list_entrycount)             \
  X(status_list_free, git_status_list_free)                         \
  X(index_free, git_index_free)                                     \
  X(index_entrycount, git_index_entrycount)                         \
  X(index_get_byindex, git_index_get_byindex)                       \
  X(index_path, git_index_path)                                     \
  X(config_open_default, git_config_open_default)                   \
  X(config_free, git_config_free)                                   \
  X(config_multivar_iterator_new, git_config_multivar_iterator_new) \
  X(config_next, git_config_next)                                   \
  X(config_iterator_free, git_config_iterator_free)

struct GitLibrary {
#define ENVBUILD_GIT_SLOT(member, function) decltype(&::function) member = nullptr;
  ENVBUILD_GIT_FUNCTIONS(ENVBUILD_GIT_SLOT)
#undef ENVBUILD_GIT_SLOT
};

// Loads libgit2 once per process; thread-safe. Throws Error(Internal) when
// it is missing or too old. Callers still pair git_libgit2_init/shutdown.
const GitLibrary& git_library();

// An owning pointer that frees through the table, e.g.
// GitPtr<git_repository, &GitLibrary::repository_free>.
template <typename T, auto Free>
struct GitDeleter {
  void operator()(T* p) const { (git_library().*Free)(p); }
};
template <typename T, auto Free>
using GitPtr = std::unique_ptr<T, GitDeleter<T, Free>>;

}  // namespace envbuild::snapshot
