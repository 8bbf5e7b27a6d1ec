#include "tests/support/git_cli.hpp"

#include <gtest/gtest.h>

#include "tests/support/files.hpp"
#include "tests/support/process.hpp"

namespace envbuild::testing {

namespace fs = std::filesystem;

std::map<std::string, std::string> GitCli::env() const {
  return {{"HOME", home_.string()},
          {"GIT_CONFIG_NOSYSTEM", "1"},
          {"GIT_CONFIG_GLOBAL", (home_ / "gitconfig").string()}};
}

std::string GitCli::operator()(const fs::path& dir, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"git",
                                   "-C",
                                   dir.string(),
                                   "-c",
                                   "user.name=t",
                                   "-c",
                                   "user.email=t@example.com",
                                   "-c",
                                   "protocol.file.allow=always"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run_process(argv, env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

void GitCli::make_repo(const fs::path& dir) const {
  fs::create_directories(dir);
  (*this)(dir, {"init", "-q", "-b", "main"});
  write_file(dir / ".gitignore", "*.log\n");
  write_file(dir / "src" / "train.py", "print()\n");
  write_file(dir / "other" / "x.txt", "x\n");
  (*this)(dir, {"add", "-A"});
  (*this)(dir, {"commit", "-q", "-m", "init"});
}

}  // namespace envbuild::testing
