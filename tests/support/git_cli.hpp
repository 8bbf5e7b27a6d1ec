#pragma once
// The git command line for tests that build real repositories: a private
// HOME and global config, no system config, a fixed identity, and file://
// submodules allowed.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace envbuild::testing {

class GitCli {
 public:
  // `home` holds the global config ("gitconfig") and is HOME for git.
  explicit GitCli(std::filesystem::path home) : home_(std::move(home)) {}

  std::map<std::string, std::string> env() const;
  // Runs `git -C dir args...`; a non-zero exit fails the current test.
  // Returns stdout without trailing newlines.
  std::string operator()(const std::filesystem::path& dir,
                         const std::vector<std::string>& args) const;
  // A repository at `dir` on branch main with one commit: .gitignore
  // ("*.log"), src/train.py and other/x.txt.
  void make_repo(const std::filesystem::path& dir) const;

 private:
  std::filesystem::path home_;
};

}  // namespace envbuild::testing
