#include "registry/default_store.hpp"

#include <cstdlib>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

bool set(const char* value) { return value != nullptr && *value != '\0'; }

}  // namespace

std::filesystem::path default_store_dir(const char* envbuild_home, const char* xdg_data_home,
                                        const char* home) {
  if (set(envbuild_home)) return envbuild_home;
  if (set(xdg_data_home) && std::filesystem::path(xdg_data_home).is_absolute()) {
    return std::filesystem::path(xdg_data_home) / "envbuild";
  }
  if (set(home)) return std::filesystem::path(home) / ".local" / "share" / "envbuild";
  throw Error(ErrorKind::Internal,
              "cannot locate the default store: set ENVBUILD_HOME (or XDG_DATA_HOME or HOME)");
}

std::filesystem::path default_cache_dir(const char* envbuild_cache_dir, const char* xdg_cache_home,
                                        const char* home) {
  if (set(envbuild_cache_dir)) return envbuild_cache_dir;
  if (set(xdg_cache_home) && std::filesystem::path(xdg_cache_home).is_absolute()) {
    return std::filesystem::path(xdg_cache_home) / "envbuild";
  }
  if (set(home)) return std::filesystem::path(home) / ".cache" / "envbuild";
  throw Error(ErrorKind::Internal,
              "cannot locate the cache directory: set ENVBUILD_CACHE_DIR (or XDG_CACHE_HOME or "
              "HOME)");
}

std::filesystem::path default_store_dir() {
  return default_store_dir(std::getenv("ENVBUILD_HOME"), std::getenv("XDG_DATA_HOME"),
                           std::getenv("HOME"));
}

}  // namespace envbuild::registry
