// The envbuild binary end to end: pack, copy between local layouts and a real
// docker-registry, with outside clients (skopeo, umoci) reading the results.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
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
using envbuild::testing::TempDir;
using envbuild::testing::write_file;

namespace {

class EnvbuildCli : public ::testing::Test {
 protected:
  TempDir tmp{"envbuild-cli"};
  fs::path store() const { return tmp.path() / "store"; }

  ProcessResult envbuild(std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), ENVBUILD_BIN);
    env.emplace("ENVBUILD_HOME", store().string());
    return run_process(args, env);
  }

  // Packs a small two-layer image into the local store and returns its digest.
  std::string pack_sample(const std::string& name) {
    write_file(tmp.path() / "src1/app/train.py", "print('hi')\n");
    write_file(tmp.path() / "src1/app/run.sh", "#!/bin/sh\necho run\n", 0755);
    write_file(tmp.path() / "src2/data/weights.bin", std::string(300000, 'w'));
    auto r = envbuild({"--json", "pack", "--to", name, (tmp.path() / "src1").string(),
                       (tmp.path() / "src2").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out).at("digest").get<std::string>();
  }
};

std::string json_digest(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out).at("digest").get<std::string>();
}

}  // namespace

TEST_F(EnvbuildCli, VersionAndHelpOnEverySubcommand) {
  auto v = envbuild({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("envbuild "), std::string::npos);
  for (std::vector<std::string> cmd : {std::vector<std::string>{"--help"},
                                       {"copy", "--help"},
                                       {"inspect", "--help"},
                                       {"pack", "--help"},
                                       {"store", "--help"},
                                       {"store", "verify", "--help"},
                                       {"store", "gc", "--help"},
                                       {"store", "ls", "--help"}}) {
    auto r = envbuild(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd.front();
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
}

TEST_F(EnvbuildCli, BadInputGetsOneLineErrorAndExitCode) {
  auto r = envbuild({"copy", "oci:" + (tmp.path() / "nope").string() + ":x", "UPPER/Case:bad tag"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  auto unknown = envbuild({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 1);
  pack_sample("sample:v1");
  auto missing = envbuild({"inspect", "sample:v2"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

TEST_F(EnvbuildCli, PackIsReproducibleAndUmociReadsIt) {
  std::string d1 = pack_sample("sample:v1");
  std::string d2 = pack_sample("sample:v2");
  EXPECT_EQ(d1, d2);
  // A second machine: different directory, umask and mtimes give the same digest.
  TempDir other{"envbuild-cli-other"};
  fs::copy(tmp.path() / "src1", other.path() / "src1", fs::copy_options::recursive);
  fs::copy(tmp.path() / "src2", other.path() / "src2", fs::copy_options::recursive);
  auto r = envbuild({"--json", "pack", "--to", "oci:" + (other.path() / "layout").string() + ":x",
                     (other.path() / "src1").string(), (other.path() / "src2").string()});
  EXPECT_EQ(json_digest(r), d1);

  auto unpack = run_process({"umoci", "unpack", "--rootless", "--image",
                             store().string() + ":sample:v1", (tmp.path() / "bundle").string()});
  ASSERT_EQ(unpack.exit_code, 0) << unpack.err;
  EXPECT_TRUE(fs::exists(tmp.path() / "bundle/rootfs/app/train.py"));
  EXPECT_TRUE(fs::exists(tmp.path() / "bundle/rootfs/data/weights.bin"));
  struct stat st {};
  ASSERT_EQ(::stat((tmp.path() / "bundle/rootfs/app/run.sh").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR);

  auto verify = envbuild({"--json", "store", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_TRUE(nlohmann::json::parse(verify.out).at("ok").get<bool>());
}

TEST_F(EnvbuildCli, CopyRoundTripThroughRegistryKeepsDigestAndSkopeoReadsIt) {
  RegistryFixture registry;
  std::string digest = pack_sample("sample:v1");
  std::string remote = registry.host() + "/team/sample:v1";

  auto push = envbuild({"--json", "copy", "sample:v1", remote});
  EXPECT_EQ(json_digest(push), digest);
  EXPECT_EQ(nlohmann::json::parse(push.out).at("blobsCopied").get<int>(), 3);

  auto inspect = run_process({"skopeo", "inspect", "--tls-verify=false", "docker://" + remote});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(nlohmann::json::parse(inspect.out).at("Digest").get<std::string>(), digest);

  // Second push: everything is there, nothing travels.
  auto again = envbuild({"--json", "copy", "sample:v1", remote});
  EXPECT_EQ(json_digest(again), digest);
  EXPECT_EQ(nlohmann::json::parse(again.out).at("blobsCopied").get<int>(), 0);

  // skopeo -> OCI layout -> our copy -> registry keeps the manifest digest.
  fs::path skopeo_layout = tmp.path() / "skopeo-layout";
  auto sk = run_process({"skopeo", "copy", "--src-tls-verify=false", "docker://" + remote,
                         "oci:" + skopeo_layout.string() + ":s"});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  auto via = envbuild({"--json", "copy", "oci:" + skopeo_layout.string() + ":s",
                       registry.host() + "/other/repo:x"});
  EXPECT_EQ(json_digest(via), digest);

  // Across repositories of one registry, blobs are mounted, not copied.
  auto mount = envbuild({"--json", "copy", remote, registry.host() + "/third/repo:y"});
  EXPECT_EQ(json_digest(mount), digest);
  EXPECT_EQ(nlohmann::json::parse(mount.out).at("blobsCopied").get<int>(), 0);
  EXPECT_EQ(nlohmann::json::parse(mount.out).at("blobsMounted").get<int>(), 3);

  // Pull back into a fresh local store, then inspect.
  auto pull =
      envbuild({"--json", "copy", remote, "oci:" + (tmp.path() / "pulled").string() + ":p"});
  EXPECT_EQ(json_digest(pull), digest);
  auto raw = envbuild({"inspect", "--raw", "oci:" + (tmp.path() / "pulled").string() + ":p"});
  ASSERT_EQ(raw.exit_code, 0);
  auto cfg = envbuild({"inspect", "--config", remote});
  ASSERT_EQ(cfg.exit_code, 0) << cfg.err;
  EXPECT_EQ(nlohmann::json::parse(cfg.out).at("rootfs").at("diff_ids").size(), 2u);
}

TEST_F(EnvbuildCli, BasicAuthFromDockerConfig) {
  RegistryFixtureOptions o;
  o.auth = RegistryAuth::Basic;
  RegistryFixture registry(o);
  std::string digest = pack_sample("sample:v1");
  std::string remote = registry.host() + "/secure/sample:v1";

  auto denied =
      envbuild({"copy", "sample:v1", remote}, {{"DOCKER_CONFIG", (tmp.path() / "empty").string()}});
  EXPECT_EQ(denied.exit_code, 3) << denied.err;

  auto ok = envbuild({"--json", "--verbose", "copy", "sample:v1", remote},
                     {{"DOCKER_CONFIG", registry.docker_config_dir().string()}});
  EXPECT_EQ(json_digest(ok), digest);
  EXPECT_EQ(ok.err.find(o.password), std::string::npos) << "password leaked into stderr";
  EXPECT_EQ(ok.out.find(o.password), std::string::npos);

  auto sk = run_process({"skopeo", "inspect", "--tls-verify=false", "--creds",
                         o.user + ":" + o.password, "docker://" + remote});
  EXPECT_EQ(sk.exit_code, 0) << sk.err;
}

TEST_F(EnvbuildCli, TokenAuth) {
  RegistryFixtureOptions o;
  o.auth = RegistryAuth::Token;
  RegistryFixture registry(o);
  std::string digest = pack_sample("sample:v1");
  auto env =
      std::map<std::string, std::string>{{"DOCKER_CONFIG", registry.docker_config_dir().string()}};
  auto ok = envbuild({"--json", "copy", "sample:v1", registry.host() + "/tok/sample:v1"}, env);
  EXPECT_EQ(json_digest(ok), digest);
  auto back = envbuild({"--json", "copy", registry.host() + "/tok/sample:v1", "back:v1"}, env);
  EXPECT_EQ(json_digest(back), digest);
}
