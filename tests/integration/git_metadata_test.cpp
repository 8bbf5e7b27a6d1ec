// Git metadata of real repositories made with the git CLI.
#include "snapshot/git_metadata.hpp"

#include <git2.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "snapshot/source_walk.hpp"
#include "tests/support/files.hpp"
#include "tests/support/git_cli.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace envbuild::snapshot;
using envbuild::testing::GitCli;
using envbuild::testing::run_process;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

EnvLookup no_env() {
  return [](std::string_view) { return std::optional<std::string>(); };
}

class GitMetadataTest : public ::testing::Test {
 protected:
  TempDir tmp{"git-meta"};
  fs::path repo() const { return tmp.path() / "repo"; }

  GitCli git{tmp.path()};
  std::map<std::string, std::string> env() const { return git.env(); }
  void make_repo(const fs::path& dir) { git.make_repo(dir); }
  // Dirtiness both ways: libgit2's own status and ours from the walk; they
  // must agree.
  std::string dirty(const fs::path& dir) {
    std::string a = key(read_git_metadata(dir, no_env()), "azureml.git.dirty");
    WalkResult w = walk_source_tree(dir);
    std::string b = key(read_git_metadata(dir, no_env(), &w), "azureml.git.dirty");
    EXPECT_EQ(a, b) << dir;
    return b;
  }
  std::string key(const GitMetadata& m, const std::string& k) {
    auto it = m.properties.find(k);
    return it == m.properties.end() ? "<absent>" : it->second;
  }
};

TEST_F(GitMetadataTest, NormalRepositoryWithRemoteAndBothKeySets) {
  make_repo(repo());
  git(repo(), {"remote", "add", "origin", "https://bob:s3cr3t@example.com/org/repo.git"});
  GitMetadata m = read_git_metadata(repo(), no_env());
  std::string head = git(repo(), {"rev-parse", "HEAD"});
  EXPECT_EQ(key(m, "azureml.git.commit"), head);
  EXPECT_EQ(key(m, "mlflow.source.git.commit"), head);
  EXPECT_EQ(key(m, "azureml.git.branch"), git(repo(), {"branch", "--show-current"}));
  EXPECT_EQ(key(m, "mlflow.source.git.branch"), "main");
  EXPECT_EQ(key(m, "azureml.git.repository_uri"), "https://example.com/org/repo.git");
  EXPECT_EQ(key(m, "mlflow.source.git.repoURL"), "https://example.com/org/repo.git");
  EXPECT_EQ(key(m, "azureml.git.dirty"), "false");
  EXPECT_TRUE(m.warnings.empty());
  for (const auto& [k, v] : m.properties) EXPECT_EQ(v.find("s3cr3t"), std::string::npos) << k;
}

TEST_F(GitMetadataTest, DirtyByTrackedChangeOrUntrackedFileNotByIgnoredOnesAndScopedToDir) {
  make_repo(repo());
  write_file(repo() / "src" / "debug.log", "ignored");
  EXPECT_EQ(dirty(repo()), "false");
  write_file(repo() / "other" / "x.txt", "changed\n");
  EXPECT_EQ(dirty(repo()), "true");
  // The change is outside src/: a snapshot of src/ is clean.
  EXPECT_EQ(dirty(repo() / "src"), "false");
  write_file(repo() / "src" / "new.py", "");
  EXPECT_EQ(dirty(repo() / "src"), "true");
  fs::remove(repo() / "src" / "new.py");
  EXPECT_EQ(dirty(repo() / "src"), "false");
  // Same size, new bytes, within the racy window of the index.
  write_file(repo() / "src" / "train.py", "print(1)\n");
  EXPECT_EQ(dirty(repo() / "src"), "true");
  git(repo(), {"checkout", "--", "src/train.py"});
  EXPECT_EQ(dirty(repo() / "src"), "false");
  fs::permissions(repo() / "src" / "train.py", fs::perms::owner_exec, fs::perm_options::add);
  EXPECT_EQ(dirty(repo() / "src"), "true");
  git(repo(), {"checkout", "--", "src/train.py"});
  fs::permissions(repo() / "src" / "train.py", fs::perms::owner_exec, fs::perm_options::remove);
  EXPECT_EQ(dirty(repo() / "src"), "false");
  fs::remove(repo() / "src" / "train.py");
  EXPECT_EQ(dirty(repo() / "src"), "true");
  git(repo(), {"checkout", "--", "src/train.py"});
  // Staged, then undone in the work tree only: the index still differs.
  write_file(repo() / "src" / "train.py", "staged\n");
  git(repo(), {"add", "src/train.py"});
  write_file(repo() / "src" / "train.py", "print()\n");
  EXPECT_EQ(dirty(repo() / "src"), "true");
}

TEST_F(GitMetadataTest, DetachedHeadHasACommitButNoBranch) {
  make_repo(repo());
  git(repo(), {"checkout", "-q", "--detach"});
  GitMetadata m = read_git_metadata(repo(), no_env());
  EXPECT_EQ(key(m, "azureml.git.commit"), git(repo(), {"rev-parse", "HEAD"}));
  EXPECT_EQ(key(m, "azureml.git.branch"), "<absent>");
}

TEST_F(GitMetadataTest, UnbornBranchHasABranchButNoCommit) {
  fs::create_directories(repo());
  git(repo(), {"init", "-q", "-b", "trunk"});
  write_file(repo() / "a.py", "");
  GitMetadata m = read_git_metadata(repo(), no_env());
  EXPECT_EQ(key(m, "azureml.git.branch"), "trunk");
  EXPECT_EQ(key(m, "azureml.git.commit"), "<absent>");
  EXPECT_EQ(key(m, "azureml.git.dirty"), "true");
  EXPECT_EQ(key(m, "azureml.git.repository_uri"), "<absent>");  // no remote
  EXPECT_EQ(dirty(repo()), "true");
  fs::remove(repo() / "a.py");
  write_file(repo() / "x.log", "");
  write_file(repo() / ".git" / "info" / "exclude", "*.log\n");
  EXPECT_EQ(dirty(repo()), "false");  // only an ignored file
}

TEST_F(GitMetadataTest, RemoteIsOriginElseTheFirstInSortedOrderElseAbsent) {
  make_repo(repo());
  EXPECT_EQ(key(read_git_metadata(repo(), no_env()), "azureml.git.repository_uri"), "<absent>");
  git(repo(), {"remote", "add", "zeta", "https://z.example/r.git"});
  git(repo(), {"remote", "add", "beta", "git@b.example:org/r.git"});
  GitMetadata m = read_git_metadata(repo(), no_env());
  EXPECT_EQ(key(m, "azureml.git.repository_uri"), "git@b.example:org/r.git");  // scp-like: kept
  EXPECT_EQ(key(m, "mlflow.source.git.repoURL"), "git@b.example:org/r.git");
  git(repo(), {"remote", "add", "origin", "https://tok3n@o.example/r.git"});
  EXPECT_EQ(key(read_git_metadata(repo(), no_env()), "azureml.git.repository_uri"),
            "https://o.example/r.git");
}

// A folder whose name is a glob must not be read as a pattern: "s*" would
// otherwise also cover its dirty sibling "sx".
TEST_F(GitMetadataTest, DirtyScopeTakesTheFolderNameLiterally) {
  make_repo(repo());
  write_file(repo() / "s*" / "a.py", "a\n");
  write_file(repo() / "sx" / "b.py", "b\n");
  git(repo(), {"add", "-A"});
  git(repo(), {"commit", "-q", "-m", "globs"});
  write_file(repo() / "sx" / "b.py", "changed\n");
  write_file(repo() / "sx" / "new.py", "");
  EXPECT_EQ(dirty(repo() / "s*"), "false");
  EXPECT_EQ(dirty(repo() / "sx"), "true");
  git(repo(), {"add", "sx/b.py"});  // staged only
  fs::remove(repo() / "sx" / "new.py");
  EXPECT_EQ(dirty(repo() / "s*"), "false");
  EXPECT_EQ(dirty(repo() / "sx"), "true");
}

TEST_F(GitMetadataTest, ShallowCloneWorktreeAndSubmodule) {
  make_repo(repo());
  fs::path shallow = tmp.path() / "shallow";
  git(tmp.path(), {"clone", "-q", "--depth", "1", "file://" + repo().string(), shallow.string()});
  GitMetadata s = read_git_metadata(shallow, no_env());
  EXPECT_EQ(key(s, "azureml.git.commit"), git(repo(), {"rev-parse", "HEAD"}));
  EXPECT_EQ(key(s, "azureml.git.repository_uri"), "file://" + repo().string());

  fs::path wt = tmp.path() / "wt";
  git(repo(), {"worktree", "add", "-q", "-b", "feature", wt.string()});
  GitMetadata w = read_git_metadata(wt, no_env());
  EXPECT_EQ(key(w, "azureml.git.branch"), "feature");
  EXPECT_EQ(key(w, "azureml.git.commit"), git(repo(), {"rev-parse", "HEAD"}));
  EXPECT_EQ(key(w, "azureml.git.dirty"), "false");

  fs::path lib = tmp.path() / "lib";
  make_repo(lib);
  git(repo(), {"submodule", "add", "-q", "file://" + lib.string(), "vendor/lib"});
  git(repo(), {"commit", "-q", "-m", "submodule"});
  EXPECT_EQ(dirty(repo()), "false");  // the submodule's files are not untracked
  // A submodule with changed content, or checked out at another commit, is
  // a change of the parent, as in git status.
  fs::path checkout = repo() / "vendor" / "lib";
  write_file(checkout / "src" / "extra.py", "");
  EXPECT_EQ(dirty(repo()), "true");
  EXPECT_EQ(dirty(repo() / "src"), "false");
  git(checkout, {"add", "-A"});
  git(checkout, {"commit", "-q", "-m", "extra"});
  EXPECT_EQ(dirty(repo()), "true");
  git(checkout, {"checkout", "-q", "HEAD~1"});
  EXPECT_EQ(dirty(repo()), "false");
  GitMetadata sub = read_git_metadata(repo() / "vendor" / "lib", no_env());
  EXPECT_EQ(key(sub, "azureml.git.commit"), git(lib, {"rev-parse", "HEAD"}));
  EXPECT_EQ(key(sub, "azureml.git.repository_uri"), "file://" + lib.string());
}

TEST_F(GitMetadataTest, OutsideAnyRepositoryGivesNoKeysUnlessOverridden) {
  fs::path plain = tmp.path() / "plain";
  fs::create_directories(plain);
  GitMetadata m = read_git_metadata(plain, no_env());
  EXPECT_TRUE(m.properties.empty());
  EXPECT_TRUE(m.warnings.empty());
  auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "AZUREML_GIT_COMMIT") return "c0ffee";
    if (name == "AZUREML_GIT_REPOSITORY_URI") return "https://u:p@host/r.git";
    if (name == "AZUREML_GIT_BUILD_ID") return "77";
    if (name == "AZUREML_GIT_BUILD_URI") return "https://ci/77";
    if (name == "AZUREML_GIT_BRANCH") return "";  // empty: not an override
    return std::nullopt;
  };
  GitMetadata o = read_git_metadata(plain, env);
  EXPECT_TRUE(o.warnings.empty());
  EXPECT_EQ(key(o, "azureml.git.commit"), "c0ffee");
  EXPECT_EQ(key(o, "mlflow.source.git.commit"), "c0ffee");
  EXPECT_EQ(key(o, "azureml.git.repository_uri"), "https://host/r.git");
  EXPECT_EQ(key(o, "azureml.git.build_id"), "77");
  EXPECT_EQ(key(o, "azureml.git.build_uri"), "https://ci/77");
  EXPECT_EQ(key(o, "azureml.git.branch"), "<absent>");
}

TEST_F(GitMetadataTest, OverridesReplaceTheRepositoryValuesUnderBothKeySets) {
  make_repo(repo());
  git(repo(), {"remote", "add", "origin", "https://example.com/real.git"});
  auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "AZUREML_GIT_REPOSITORY_URI") return "https://ci:hunter2@ci.example/o.git";
    if (name == "AZUREML_GIT_BRANCH") return "release";
    if (name == "AZUREML_GIT_COMMIT") return "0123abcd";
    if (name == "AZUREML_GIT_DIRTY") return "true";
    return std::nullopt;
  };
  GitMetadata m = read_git_metadata(repo(), env);
  EXPECT_EQ(key(m, "azureml.git.repository_uri"), "https://ci.example/o.git");
  EXPECT_EQ(key(m, "mlflow.source.git.repoURL"), "https://ci.example/o.git");
  EXPECT_EQ(key(m, "azureml.git.branch"), "release");
  EXPECT_EQ(key(m, "mlflow.source.git.branch"), "release");
  EXPECT_EQ(key(m, "azureml.git.commit"), "0123abcd");
  EXPECT_EQ(key(m, "mlflow.source.git.commit"), "0123abcd");
  EXPECT_EQ(key(m, "azureml.git.dirty"), "true");  // the tree itself is clean
  EXPECT_EQ(key(m, "azureml.git.build_id"), "<absent>");
}

// Points libgit2's global config at a test file for the guard's lifetime. Its
// own init reference keeps the setting alive across read_git_metadata's
// init/shutdown pair; the old path is put back before letting go.
class GlobalConfigDir {
 public:
  explicit GlobalConfigDir(const fs::path& dir) {
    git_libgit2_init();
    git_buf old = GIT_BUF_INIT;
    if (git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, &old) == 0)
      old_ = std::string(old.ptr, old.size);
    git_buf_dispose(&old);
    EXPECT_EQ(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, dir.c_str()), 0);
  }
  ~GlobalConfigDir() {
    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, old_.c_str());
    git_libgit2_shutdown();
  }
  GlobalConfigDir(const GlobalConfigDir&) = delete;
  GlobalConfigDir& operator=(const GlobalConfigDir&) = delete;

 private:
  std::string old_;
};

TEST_F(GitMetadataTest, RepositoryOwnedByAnotherUserIsAWarningNotAFailure) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown the repository to another user";
  make_repo(repo());
  git(repo(), {"remote", "add", "origin", "https://bob:s3cr3t@example.com/org/repo.git"});
  std::string head = git(repo(), {"rev-parse", "HEAD"});
  ASSERT_EQ(run_process({"chown", "-R", "65534:65534", repo().string()}).exit_code, 0);
  fs::path home = tmp.path() / "home";
  fs::create_directories(home);
  GlobalConfigDir global(home);
  for (const fs::path& dir : {repo(), repo() / "src"}) {
    GitMetadata m = read_git_metadata(dir, no_env());
    EXPECT_TRUE(m.properties.empty()) << dir;
    ASSERT_EQ(m.warnings.size(), 1u) << dir;
    EXPECT_NE(m.warnings[0].find("owned by another user"), std::string::npos) << m.warnings[0];
    EXPECT_NE(m.warnings[0].find("git config --global --add safe.directory " + repo().string()),
              std::string::npos)
        << m.warnings[0];
    EXPECT_EQ(m.warnings[0].find("s3cr3t"), std::string::npos) << m.warnings[0];
  }
  // Overrides still apply to a refused repository.
  auto env = [](std::string_view name) -> std::optional<std::string> {
    return name == "AZUREML_GIT_BUILD_ID" ? std::optional<std::string>("9") : std::nullopt;
  };
  EXPECT_EQ(key(read_git_metadata(repo(), env), "azureml.git.build_id"), "9");

  // Listed in the global config, as git's own hint says: recorded normally.
  write_file(home / ".gitconfig", "[safe]\n\tdirectory = " + repo().string() + "\n");
  for (const fs::path& dir : {repo(), repo() / "src"}) {
    GitMetadata m = read_git_metadata(dir, no_env());
    EXPECT_TRUE(m.warnings.empty()) << (m.warnings.empty() ? "" : m.warnings[0]);
    EXPECT_EQ(key(m, "azureml.git.commit"), head) << dir;
    EXPECT_EQ(key(m, "azureml.git.branch"), "main") << dir;
    EXPECT_EQ(key(m, "azureml.git.repository_uri"), "https://example.com/org/repo.git");
    EXPECT_EQ(dirty(dir), "false");
  }
  // git's empty value clears the list before it: refused again.
  write_file(home / ".gitconfig", "[safe]\n\tdirectory = " + repo().string() + "\n\tdirectory =\n");
  EXPECT_EQ(key(read_git_metadata(repo(), no_env()), "azureml.git.commit"), "<absent>");
}

TEST(StripUrlCredentials, RemovesUserinfoKeepsScpStyle) {
  EXPECT_EQ(strip_url_credentials("https://u:p@h/x"), "https://h/x");
  EXPECT_EQ(strip_url_credentials("https://token@h:8443/x?y"), "https://h:8443/x?y");
  EXPECT_EQ(strip_url_credentials("https://h/x@y"), "https://h/x@y");
  EXPECT_EQ(strip_url_credentials("git@github.com:org/r.git"), "git@github.com:org/r.git");
  EXPECT_EQ(strip_url_credentials("ssh://git@h/r"), "ssh://h/r");
}

}  // namespace
