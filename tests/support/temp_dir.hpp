#pragma once
// A directory removed at scope exit, for tests.
#include <filesystem>
#include <string>

namespace envbuild::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "envbuild-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace envbuild::testing
