#pragma once
// Paths named inside a conda package (tar entries, paths.json `_path`,
// info/files lines, hardlink targets) are hostile until checked: each one is
// split into components here, and anything that could leave the package
// root or the prefix is refused before it reaches the filesystem.
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::builder::conda {

// Longest package path accepted (Linux PATH_MAX).
inline constexpr size_t kMaxPackagePathBytes = 4096;

// Splits `raw` on '/', dropping empty and "." components. Throws
// Error(BadInput) "<what>: <reason>: <raw>" for an absolute path, a ".."
// component, a NUL byte or more than kMaxPackagePathBytes bytes. An empty
// result (the root itself) is returned as an empty vector.
std::vector<std::string> package_path_components(std::string_view raw, std::string_view what);

// The components joined with '/'; throws as above and also when the path
// names the root itself.
std::string checked_package_path(std::string_view raw, std::string_view what);

// "a/b/c" for the first `count` components.
std::string join_components(const std::vector<std::string>& components, size_t count);

// True when `path` is `dir` or lies below it ("info" contains "info/x").
bool path_is_within(std::string_view path, std::string_view dir);

}  // namespace envbuild::builder::conda
