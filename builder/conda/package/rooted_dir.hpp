#pragma once
// A directory opened once, below which paths are resolved component by
// component with O_NOFOLLOW: a symlink (or a non-directory) in a parent
// position is refused instead of followed, so neither the extractor nor the
// linker can be steered outside a package by a link the package itself
// contains.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/unique_fd.hpp"

namespace envbuild::builder::conda {

class RootedDir {
 public:
  // Throws Error(BadInput) when `root` is not a directory.
  explicit RootedDir(const std::filesystem::path& root);

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }

  // The directory holding components.back() (the root for a one-component
  // path). Missing directories are created with mode 0755 when `create`,
  // else an invalid fd is returned. A symlink or file in a parent position
  // throws Error(BadInput) "<what>: refusing to go through ...".
  UniqueFd open_parent(const std::vector<std::string>& components, bool create,
                       std::string_view what) const;

  // lstat of the path itself (never following it); nullopt when absent.
  std::optional<struct stat> lstat(const std::vector<std::string>& components,
                                   std::string_view what) const;

  // Opens a regular file for reading; throws Error(BadInput) when the path
  // is missing, a symlink or anything but a regular file.
  UniqueFd open_regular(const std::vector<std::string>& components, std::string_view what) const;

  // Reads a whole regular file; throws Error(BadInput) past max_bytes.
  std::string read_file(const std::vector<std::string>& components, uint64_t max_bytes,
                        std::string_view what) const;

  // The target of a symlink; throws Error(BadInput) when it is not one.
  std::string read_link(const std::vector<std::string>& components, std::string_view what) const;

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

// Reads an open file to its end; throws Error(BadInput) past max_bytes.
std::string read_fd(int fd, uint64_t max_bytes, std::string_view what);

}  // namespace envbuild::builder::conda
