#include "snapshot/git_library.hpp"

#include "registry/shared_library.hpp"

namespace envbuild::snapshot {

namespace {

GitLibrary load() {
  // The soname we were built against first, so the ABI of <git2.h> holds.
  static registry::SharedLibrary lib =
      registry::SharedLibrary::open({ENVBUILD_LIBGIT2_SONAME}, "git metadata");
  GitLibrary api;
#define ENVBUILD_GIT_BIND(member, function) lib.bind(api.member, #function);
  ENVBUILD_GIT_FUNCTIONS(ENVBUILD_GIT_BIND)
#undef ENVBUILD_GIT_BIND
  return api;
}

}  // namespace

const GitLibrary& git_library() {
  static const GitLibrary api = load();
  return api;
}

}  // namespace envbuild::snapshot
