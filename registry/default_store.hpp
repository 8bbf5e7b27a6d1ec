#pragma once
// Where the embedded default store (a LayoutStore) lives:
//   $ENVBUILD_HOME if set, else $XDG_DATA_HOME/envbuild, else
//   $HOME/.local/share/envbuild.
// Empty values count as unset, and a relative XDG_DATA_HOME is ignored, as
// the XDG base directory spec says.
#include <filesystem>

namespace envbuild::registry {

// Pure form: the caller passes the environment values (nullptr = unset).
// Throws Error(Internal) when none of them gives a location.
std::filesystem::path default_store_dir(const char* envbuild_home, const char* xdg_data_home,
                                        const char* home);

// Where caches live (they only save work; deleting them is always safe):
//   $ENVBUILD_CACHE_DIR, else $XDG_CACHE_HOME/envbuild, else
//   $HOME/.cache/envbuild. Same rules for empty and relative values.
std::filesystem::path default_cache_dir(const char* envbuild_cache_dir, const char* xdg_cache_home,
                                        const char* home);

// Reads ENVBUILD_HOME, XDG_DATA_HOME and HOME now.
std::filesystem::path default_store_dir();

}  // namespace envbuild::registry
