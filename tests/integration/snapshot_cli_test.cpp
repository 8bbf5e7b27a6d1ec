// The snapshot binary end to end: push, re-push, pull, show, ls, diff and
// check against the local store and a real docker-registry with basic auth.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using envbuild::testing::ProcessResult;
using envbuild::testing::RegistryAuth;
using envbuild::testing::RegistryFixture;
using envbuild::testing::RegistryFixtureOptions;
using envbuild::testing::run_process;
using envbuild::testing::slurp;
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

class SnapshotCli : public ::testing::Test {
 protected:
  TempDir tmp{"snapshot-cli"};
  fs::path src() const { return tmp.path() / "src"; }

  std::map<std::string, std::string> base_env() const {
    return {{"ENVBUILD_HOME", (tmp.path() / "store").string()},
            {"ENVBUILD_CACHE_DIR", (tmp.path() / "cache").string()},
            {"ENVBUILD_CONFIG", ""},
            {"HOME", tmp.path().string()},
            {"GIT_CONFIG_NOSYSTEM", "1"},
            {"GIT_CONFIG_GLOBAL", (tmp.path() / "gitconfig").string()}};
  }

  ProcessResult snapshot(std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), SNAPSHOT_BIN);
    for (auto& [k, v] : base_env()) env.emplace(k, v);
    return run_process(args, env);
  }

  nlohmann::json json_of(std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), "--json");
    ProcessResult r = snapshot(args, std::move(env));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  void git(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        "git", "-C", src().string(), "-c", "user.name=t", "-c", "user.email=t@example.com"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv, base_env());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void make_tree() {
    write_file(src() / "train.py", "print('train')\n");
    write_file(src() / "run.sh", "#!/bin/sh\necho run\n", 0755);
    write_file(src() / "lib" / "util.py", "X = 1\n");
    write_file(src() / "data" / "weights.bin", std::string(400 * 1024, 'w'));
    write_file(src() / "logs" / "a.log", "log");
    write_file(src() / ".gitignore", "logs/\n*.tmp\n");
    write_file(src() / "scratch.tmp", "tmp");
    fs::create_symlink("train.py", src() / "main.py");
    fs::create_directories(src() / "empty");
  }
};

TEST_F(SnapshotCli, PushRepushPullShowLsDiffCheckOnTheLocalStore) {
  make_tree();
  nlohmann::json first = json_of({"push", src().string()});
  std::string id = first.at("id");
  EXPECT_EQ(id.rfind("sha256:", 0), 0u);
  EXPECT_EQ(first.at("files"), 5);  // .gitignore, train.py, run.sh, util.py, weights.bin
  EXPECT_EQ(first.at("symlinks"), 1);
  EXPECT_EQ(first.at("empty_directories"), 1);
  EXPECT_EQ(first.at("ignored"), 2);
  EXPECT_EQ(first.at("uploaded_files"), 5);
  EXPECT_FALSE(first.at("git").contains("azureml.git.commit"));  // not a repository

  // Unchanged: same id, nothing uploaded.
  nlohmann::json again = json_of({"push", src().string()});
  EXPECT_EQ(again.at("id"), id);
  EXPECT_EQ(again.at("uploaded_bytes"), 0);
  EXPECT_EQ(again.at("uploaded_blobs"), 0);

  // Plain output: the id alone on stdout.
  ProcessResult plain = snapshot({"push", src().string()});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, id + "\n");

  fs::path dest = tmp.path() / "restored";
  ProcessResult pull = snapshot({"pull", id, dest.string()});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(slurp(dest / "train.py"), "print('train')\n");
  EXPECT_EQ(slurp(dest / "data" / "weights.bin"), std::string(400 * 1024, 'w'));
  EXPECT_TRUE(fs::is_symlink(dest / "main.py"));
  EXPECT_EQ(fs::read_symlink(dest / "main.py"), "train.py");
  EXPECT_TRUE(fs::is_directory(dest / "empty"));
  EXPECT_FALSE(fs::exists(dest / "logs"));
  EXPECT_FALSE(fs::exists(dest / "scratch.tmp"));
  struct stat st {};
  ASSERT_EQ(::stat((dest / "run.sh").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR);
  ASSERT_EQ(::stat((dest / "train.py").c_str(), &st), 0);
  EXPECT_FALSE(st.st_mode & S_IXUSR);
  // Pulling into a non-empty directory is refused.
  EXPECT_EQ(snapshot({"pull", id, dest.string()}).exit_code, 1);

  nlohmann::json show = json_of({"show", id.substr(7, 16)});  // a unique prefix works
  EXPECT_EQ(show.at("id"), id);
  std::vector<std::string> shown;
  for (const auto& f : show.at("files")) shown.push_back(f.at("path"));
  EXPECT_EQ(shown, (std::vector<std::string>{".gitignore", "data/weights.bin", "empty",
                                             "lib/util.py", "main.py", "run.sh", "train.py"}));

  nlohmann::json ls = json_of({"ls"});
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0].at("id"), id);

  write_file(src() / "train.py", "print('changed')\n");
  write_file(src() / "new.py", "");
  fs::remove(src() / "lib" / "util.py");
  nlohmann::json diff = json_of({"diff", id, src().string()});
  EXPECT_NE(std::find(diff.at("added").begin(), diff.at("added").end(), "new.py"),
            diff.at("added").end());
  EXPECT_EQ(diff.at("modified"), nlohmann::json::array({"train.py"}));
  EXPECT_NE(std::find(diff.at("removed").begin(), diff.at("removed").end(), "lib/util.py"),
            diff.at("removed").end());

  nlohmann::json second = json_of({"push", src().string()});
  EXPECT_NE(second.at("id"), id);
  EXPECT_LT(second.at("uploaded_bytes").get<int>(), 1024);  // not the 400 KiB file again
  nlohmann::json d2 = json_of({"diff", id, second.at("id")});
  EXPECT_EQ(d2.at("modified"), nlohmann::json::array({"train.py"}));

  ProcessResult check = snapshot({"check", src().string(), "logs/a.log", "train.py", "x.tmp"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out,
            "ignored\tlogs/a.log\t.gitignore:1:logs/\nincluded\ttrain.py\nignored\tx.tmp\t"
            ".gitignore:2:*.tmp\n");
  ProcessResult all = snapshot({"check", src().string()});
  EXPECT_NE(all.out.find("ignored\tlogs/\t.gitignore:1:logs/"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("included\ttrain.py"), std::string::npos) << all.out;
}

TEST_F(SnapshotCli, SameTreeGivesTheSameIdAnywhere) {
  make_tree();
  std::string a = json_of({"push", src().string()}).at("id");
  fs::path copy = tmp.path() / "elsewhere" / "code";
  fs::create_directories(copy.parent_path());
  ASSERT_EQ(run_process({"cp", "-r", src().string(), copy.string()}).exit_code, 0);
  fs::last_write_time(copy / "train.py", fs::file_time_type::clock::now() - std::chrono::hours(48));
  std::string b = json_of({"push", copy.string(), "--to", "oci:" + (tmp.path() / "other").string()},
                          {{"ENVBUILD_CACHE_DIR", (tmp.path() / "cache2").string()}})
                      .at("id");
  EXPECT_EQ(a, b);
}

TEST_F(SnapshotCli, GitMetadataIsRecordedAndOverridable) {
  make_tree();
  git({"init", "-q", "-b", "main"});
  git({"remote", "add", "origin", "https://user:token123@example.com/org/repo.git"});
  git({"add", "-A"});
  git({"commit", "-q", "-m", "init"});
  auto rev = run_process({"git", "-C", src().string(), "rev-parse", "HEAD"}, base_env());
  std::string commit = rev.out.substr(0, 40);
  nlohmann::json r = json_of({"push", src().string()});
  EXPECT_EQ(r.at("git").at("azureml.git.commit"), commit);
  EXPECT_EQ(r.at("git").at("mlflow.source.git.commit"), commit);
  EXPECT_EQ(r.at("git").at("azureml.git.branch"), "main");
  EXPECT_EQ(r.at("git").at("azureml.git.repository_uri"), "https://example.com/org/repo.git");
  EXPECT_EQ(r.at("git").at("azureml.git.dirty"), "false");
  nlohmann::json show = json_of({"show", r.at("id")});
  EXPECT_EQ(show.at("annotations").at("azureml.git.commit"), commit);
  ProcessResult plain = snapshot({"push", src().string()});
  EXPECT_EQ(plain.err.find("token123"), std::string::npos);
  EXPECT_EQ(plain.out.find("token123"), std::string::npos);

  nlohmann::json o = json_of({"push", src().string()},
                             {{"AZUREML_GIT_COMMIT", "abc"}, {"AZUREML_GIT_BUILD_ID", "42"}});
  EXPECT_EQ(o.at("git").at("azureml.git.commit"), "abc");
  EXPECT_EQ(o.at("git").at("azureml.git.build_id"), "42");
}

// libgit2 and libcurl are loaded only when needed: the first push in a
// repository reads it with libgit2; an unchanged re-push answers from its
// memos and loads neither (the dynamic loader reports every library it maps).
TEST_F(SnapshotCli, UnchangedPushLoadsNeitherLibgit2NorLibcurl) {
  make_tree();
  git({"init", "-q", "-b", "main"});
  git({"add", "-A"});
  git({"commit", "-q", "-m", "init"});
  // Old mtimes: no file is racy, so the tree memo is written.
  for (const auto& item : fs::recursive_directory_iterator(src())) {
    if (item.is_regular_file() && !item.is_symlink() &&
        item.path().string().find("/.git/") == std::string::npos)
      fs::last_write_time(item.path(), fs::file_time_type::clock::now() - std::chrono::hours(1));
  }
  const std::map<std::string, std::string> trace = {{"LD_DEBUG", "files"}};
  auto loads = [](const ProcessResult& r, const std::string& lib) {
    return r.err.find("file=" + lib) != std::string::npos;
  };
  ProcessResult first = snapshot({"push", src().string()}, trace);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(loads(first, "libgit2"));
  EXPECT_FALSE(loads(first, "libcurl"));  // a local store needs no HTTP
  ProcessResult again = snapshot({"push", src().string()}, trace);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, first.out);  // the same id
  EXPECT_FALSE(loads(again, "libgit2"));
  EXPECT_FALSE(loads(again, "libcurl"));
  EXPECT_NE(json_of({"push", src().string()})["git"].dump().find("azureml.git.commit"),
            std::string::npos);
}

TEST_F(SnapshotCli, OverTheLimitUploadsNothingAndSaysWhatToIgnore) {
  make_tree();
  for (int i = 0; i < 30; ++i) write_file(src() / "many" / ("f" + std::to_string(i)), "x");
  ProcessResult r = snapshot({"push", src().string(), "--max-files", "20"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exceeds the limit of 20 files"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/many/"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "store" / "index.json") &&
               slurp(tmp.path() / "store" / "index.json").find("snapshot-") != std::string::npos);
  // The config file raises it.
  write_file(tmp.path() / "cfg.yaml", "snapshot:\n  max_files: 100\n");
  EXPECT_EQ(
      snapshot({"push", src().string(), "--config", (tmp.path() / "cfg.yaml").string()}).exit_code,
      0);
  ProcessResult bytes = snapshot({"push", src().string(), "--max-bytes", "100KB"});
  EXPECT_EQ(bytes.exit_code, 1);
  EXPECT_NE(bytes.err.find("data/weights.bin"), std::string::npos) << bytes.err;
}

TEST_F(SnapshotCli, BadInputIsOneLineAndNonZero) {
  ProcessResult r = snapshot({"push", (tmp.path() / "missing").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos);
  ProcessResult show = snapshot({"show", "sha256:" + std::string(64, 'a')});
  EXPECT_EQ(show.exit_code, 2) << show.err;
  for (std::vector<std::string> cmd : {std::vector<std::string>{"--help"},
                                       {"push", "--help"},
                                       {"pull", "--help"},
                                       {"ls", "--help"},
                                       {"show", "--help"},
                                       {"diff", "--help"},
                                       {"check", "--help"}}) {
    EXPECT_EQ(snapshot(cmd).exit_code, 0) << cmd.front();
  }
  EXPECT_EQ(snapshot({"--version"}).exit_code, 0);
}

TEST_F(SnapshotCli, PushAndPullThroughARegistryWithBasicAuth) {
  RegistryFixtureOptions o;
  o.auth = RegistryAuth::Basic;
  RegistryFixture registry(o);
  make_tree();
  std::map<std::string, std::string> env = {
      {"DOCKER_CONFIG", registry.docker_config_dir().string()}};
  std::string repo = registry.host() + "/team/code";
  nlohmann::json first = json_of({"push", src().string(), "--to", repo}, env);
  std::string id = first.at("id");
  nlohmann::json again = json_of({"push", src().string(), "--to", repo}, env);
  EXPECT_EQ(again.at("id"), id);
  EXPECT_EQ(again.at("uploaded_blobs"), 0);
  fs::path dest = tmp.path() / "pulled";
  ProcessResult pull = snapshot({"pull", id, dest.string(), "--from", repo}, env);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(slurp(dest / "data" / "weights.bin"), std::string(400 * 1024, 'w'));
  // skopeo reads the root as a valid OCI index.
  ProcessResult sk = run_process({"skopeo", "inspect", "--raw", "--tls-verify=false", "--creds",
                                  o.user + ":" + o.password, "docker://" + repo + "@" + id});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  EXPECT_NE(sk.out.find("application/vnd.oci.image.index.v1+json"), std::string::npos);
  // Without credentials: an auth error, exit 3.
  ProcessResult denied =
      snapshot({"ls", "--from", repo}, {{"DOCKER_CONFIG", (tmp.path() / "nocreds").string()}});
  EXPECT_EQ(denied.exit_code, 3) << denied.err;
}

}  // namespace

namespace {

// An unreadable file is refused by name and nothing is tagged. As root every
// file is readable, so the push then runs as "nobody" through setpriv.
TEST(SnapshotCliPermissions, UnreadableFileIsRefusedByName) {
  TempDir tmp{"snapshot-perm"};
  fs::permissions(tmp.path(), fs::perms::all);
  write_file(tmp.path() / "src" / "ok.py", "x");
  write_file(tmp.path() / "src" / "secret.key", "k", 0000);
  fs::create_directories(tmp.path() / "home");
  // A copy of the binary, so "nobody" can run it wherever the build lives.
  fs::copy_file(SNAPSHOT_BIN, tmp.path() / "snapshot");
  fs::permissions(tmp.path() / "snapshot", fs::perms::owner_all | fs::perms::group_exec |
                                               fs::perms::group_read | fs::perms::others_exec |
                                               fs::perms::others_read);
  std::vector<std::string> argv = {(tmp.path() / "snapshot").string(), "push",
                                   (tmp.path() / "src").string()};
  if (::geteuid() == 0) {
    ASSERT_EQ(run_process({"chown", "-R", "65534:65534", (tmp.path() / "home").string()}).exit_code,
              0);
    argv.insert(argv.begin(),
                {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
  }
  ProcessResult r =
      run_process(argv, {{"ENVBUILD_HOME", (tmp.path() / "home" / "store").string()},
                         {"ENVBUILD_CACHE_DIR", (tmp.path() / "home" / "cache").string()},
                         {"HOME", (tmp.path() / "home").string()}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("secret.key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "home" / "store" / "index.json") &&
               slurp(tmp.path() / "home" / "store" / "index.json").find("snapshot-") !=
                   std::string::npos);
}

}  // namespace

namespace {

// Paths beyond PATH_MAX and names that are not UTF-8 survive push and pull.
TEST_F(SnapshotCli, LongPathsAndNonUtf8NamesRoundTrip) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += std::string(120, static_cast<char>('a' + i % 26)) + "/";
  int fd = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(::mkdirat(fd, "src", 0755), 0);
  int dir = ::openat(fd, "src", O_RDONLY | O_DIRECTORY);
  ::close(fd);
  for (size_t start = 0; start < deep.size();) {
    size_t slash = deep.find('/', start);
    std::string name = deep.substr(start, slash - start);
    ASSERT_EQ(::mkdirat(dir, name.c_str(), 0755), 0);
    int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY);
    ::close(dir);
    dir = next;
    start = slash + 1;
  }
  int f = ::openat(dir, "deep.txt", O_CREAT | O_WRONLY, 0644);
  ASSERT_EQ(::write(f, "deep", 4), 4);
  ::close(f);
  ::close(dir);
  write_file(src() / "caf\xe9.txt", "latin-1 name");

  nlohmann::json pushed = json_of({"push", src().string()});
  EXPECT_EQ(pushed.at("files"), 2);
  fs::path dest = tmp.path() / "out";
  ProcessResult pull = snapshot({"pull", pushed.at("id"), dest.string()});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(slurp(dest / "caf\xe9.txt"), "latin-1 name");
  int out = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY);
  for (size_t start = 0; start < deep.size();) {
    size_t slash = deep.find('/', start);
    int next = ::openat(out, deep.substr(start, slash - start).c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0);
    ::close(out);
    out = next;
    start = slash + 1;
  }
  char buf[8] = {};
  int file = ::openat(out, "deep.txt", O_RDONLY);
  ASSERT_GE(file, 0);
  EXPECT_EQ(::read(file, buf, sizeof buf), 4);
  EXPECT_STREQ(buf, "deep");
  ::close(file);
  ::close(out);
  // TempDir's cleanup uses path strings; remove the deep trees with rm.
  EXPECT_EQ(run_process({"rm", "-rf", src().string(), dest.string()}).exit_code, 0);
}

}  // namespace
