// envbuild create end to end: definitions built on real base images (Debian's
// busybox-static and an mmdebstrap Debian), into the local store and a real
// docker-registry, read back by skopeo and umoci; cache hits, moved base
// tags, platforms, reproducibility, concurrent builds, curated publishing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "builder/build_log_store.hpp"
#include "registry/layout_store.hpp"
#include "tests/support/base_images.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/umoci_unpack.hpp"

namespace fs = std::filesystem;
using namespace envbuild::testing;
using nlohmann::json;

namespace {

class CreateTest : public ::testing::Test {
 protected:
  TempDir tmp{"create"};
  fs::path store() const { return tmp.path() / "store"; }

  ProcessResult envbuild(std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), ENVBUILD_BIN);
    env.emplace("ENVBUILD_HOME", store().string());
    env.emplace("SOURCE_DATE_EPOCH", "");
    return run_process(args, env);
  }
  json create_json(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {"--json", "create"});
    ProcessResult r = envbuild(args, std::move(env));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }
  std::string definition(const std::string& name, const std::string& text) {
    write_file(tmp.path() / name, text);
    return (tmp.path() / name).string();
  }
  // A user-managed Azure ML definition on `image`.
  std::string user_managed(const std::string& image, const std::string& extra = "") {
    return definition("env.yml", "name: byo\nimage: " + image +
                                     "\npython:\n  user_managed_dependencies: true\n"
                                     "environment_variables:\n  TRAIN_MODE: fast\n" +
                                     extra);
  }
  static std::string busybox_oci() {
    return "oci:" + busybox_image_layout().string() + ":" + kBusyboxTag;
  }
};

json skopeo_inspect(const std::string& ref, bool raw = false) {
  std::vector<std::string> args = {"skopeo", "inspect", "--tls-verify=false"};
  if (raw) args.push_back("--raw");
  args.push_back(ref);
  ProcessResult r = run_process(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

bool has_env(const json& config_env, const std::string& kv) {
  for (const auto& e : config_env)
    if (e.get<std::string>() == kv) return true;
  return false;
}

}  // namespace

TEST_F(CreateTest, UserManagedDefinitionBuildsOnBusyboxThenHitsTheCache) {
  const std::string def = user_managed(busybox_oci());
  const json first = create_json({def});
  EXPECT_EQ(first["outcome"], "built");
  const std::string hash = first["spec_hash"];
  EXPECT_EQ(first["reference"], "local:env-" + hash + "@" + first["digest"].get<std::string>());
  EXPECT_FALSE(first["lock_hash"].get<std::string>().empty());

  // skopeo reads the local store; the config keeps the base's and adds ours.
  const json inspected = skopeo_inspect("oci:" + store().string() + ":env-" + hash);
  EXPECT_EQ(inspected["Digest"], first["digest"]);
  EXPECT_EQ(inspected["Labels"]["dev.envbuild.spec-hash"], hash);
  EXPECT_TRUE(has_env(inspected["Env"], "BASE_MARK=busybox"));
  EXPECT_TRUE(has_env(inspected["Env"], "TRAIN_MODE=fast"));
  EXPECT_TRUE(has_env(inspected["Env"], kBaseImagePath));

  // umoci unpacks it: the base's files, our metadata, the base's command.
  const UnpackedImage u = umoci_unpack(store(), "env-" + hash, tmp.path() / "unpacked");
  EXPECT_TRUE(fs::exists(u.rootfs / "bin/busybox"));
  const json stored_def = json::parse(slurp(u.rootfs / "etc/envbuild/definition.json"));
  EXPECT_EQ(stored_def["user_managed_dependencies"], true);
  EXPECT_EQ(stored_def["environment_variables"]["TRAIN_MODE"], "fast");
  const json stored_lock = json::parse(slurp(u.rootfs / "etc/envbuild/lock.json"));
  EXPECT_EQ(stored_lock["spec_hash"], hash);
  EXPECT_EQ(stored_lock["base"]["digest"].get<std::string>().substr(0, 7), "sha256:");
  EXPECT_EQ(u.config["process"]["args"], json::array({"sh"}));
  ProcessResult ran = run_process(
      {(u.rootfs / "bin/busybox").string(), "cat", (u.rootfs / "etc/envbuild/lock.json").string()});
  EXPECT_EQ(ran.exit_code, 0);

  // The second run builds nothing.
  const json again = create_json({def});
  EXPECT_EQ(again["outcome"], "cache-hit");
  EXPECT_EQ(again["digest"], first["digest"]);
  EXPECT_EQ(again["log_tag"], "");

  // The build log is in the store next to the image, and --log writes it too.
  envbuild::registry::LayoutStore layout(store());
  const auto log = envbuild::builder::read_build_log(layout, hash);
  ASSERT_TRUE(log.has_value());
  EXPECT_NE(log->find("spec hash " + hash), std::string::npos) << *log;
  EXPECT_NE(log->find("lock hash"), std::string::npos) << *log;

  // Text mode: the reference alone on stdout.
  ProcessResult plain = envbuild({"create", def, "--log", (tmp.path() / "log.txt").string(),
                                  "--digest-file", (tmp.path() / "digest").string()});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, first["reference"].get<std::string>() + "\n");
  EXPECT_NE(plain.err.find("cache hit"), std::string::npos);
  EXPECT_EQ(slurp(tmp.path() / "digest"), first["digest"].get<std::string>());
  EXPECT_NE(slurp(tmp.path() / "log.txt").find("spec hash"), std::string::npos);
}

// A base from the local store itself (what scripts/setup.sh does).
TEST_F(CreateTest, BaseFromTheLocalStore) {
  write_file(tmp.path() / "rootfs" / "bin" / "tool", "#!/bin/sh\necho tool\n", 0755);
  ProcessResult packed =
      envbuild({"--json", "pack", "--to", "base:1", (tmp.path() / "rootfs").string()});
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
  const std::string base_digest = json::parse(packed.out)["digest"];
  const json built = create_json({user_managed("local:base:1")});
  EXPECT_EQ(built["outcome"], "built");
  EXPECT_EQ(built["base"]["reference"], "local:base:1");
  EXPECT_EQ(built["base"]["digest"], base_digest);
  EXPECT_EQ(built["base_layers"]["present"], 1);  // the same store: nothing to copy
}

TEST_F(CreateTest, DryRunWritesNothingAndPipPackagesAreRefusedUntilTheyCanBeInstalled) {
  const std::string def = user_managed(busybox_oci());
  ProcessResult plan = envbuild({"create", def, "--dry-run"});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("base oci:"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("1 layers"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("tags: env-"), std::string::npos) << plan.out;
  EXPECT_FALSE(fs::exists(store() / "index.json") &&
               slurp(store() / "index.json").find("env-") != std::string::npos);

  const std::string pip = definition("pip.yml", "dependencies:\n  - pip:\n    - requests\n");
  ProcessResult refused = envbuild({"create", pip, "--base", busybox_oci()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("pip.yml: installs 1 pip packages; pip installation is not available"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1);
  // Conda packages from a channel that cannot be reached: a one-line
  // network error naming the repodata URL, exit 4.
  const std::string conda =
      definition("conda.yml", "channels: [http://127.0.0.1:1/nowhere]\ndependencies:\n  - numpy\n");
  ProcessResult unreachable = envbuild({"create", conda, "--base", busybox_oci()});
  EXPECT_EQ(unreachable.exit_code, 4) << unreachable.err;
  EXPECT_NE(unreachable.err.find("cannot fetch http://127.0.0.1:1/nowhere/"), std::string::npos)
      << unreachable.err;
  EXPECT_EQ(std::count(unreachable.err.begin(), unreachable.err.end(), '\n'), 1);

  ProcessResult bad = envbuild({"create", definition("bad.yml", "dependencies: [numpy\n")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.yml:2:1: YAML syntax error"), std::string::npos) << bad.err;
  ProcessResult missing = envbuild({"create", (tmp.path() / "nope.yml").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such definition file"), std::string::npos);
}

// A registry with basic auth: the base is mounted within it, outside tools
// read the result, a cache hit costs one manifest request, and a moved base
// tag is picked up by --refresh only.
TEST_F(CreateTest, RegistryPushMountsTheBaseAndRefreshNoticesAMovedBaseTag) {
  RegistryFixture registry(RegistryFixtureOptions{.auth = RegistryAuth::Basic});
  const std::map<std::string, std::string> auth = {
      {"DOCKER_CONFIG", registry.docker_config_dir().string()}};
  const std::string base =
      push_layout_image(busybox_image_layout(), kBusyboxTag, registry, "base/os");
  const std::string def = user_managed(base);
  const std::string repo = registry.host() + "/team/envs";
  const json built = create_json({def, "--push", repo, "--tag", "v1"}, auth);
  EXPECT_EQ(built["outcome"], "built");
  EXPECT_EQ(built["reference"], repo + "@" + built["digest"].get<std::string>());
  const std::string hash = built["spec_hash"];

  ProcessResult sk = run_process({"skopeo", "inspect", "--tls-verify=false", "--creds",
                                  registry.options().user + ":" + registry.options().password,
                                  "docker://" + repo + ":v1"});
  // The base's layer was mounted from base/os, not uploaded again.
  EXPECT_EQ(built["base_layers"]["mounted"], 1);
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  EXPECT_EQ(json::parse(sk.out)["Digest"], built["digest"]);
  ProcessResult copy = run_process({"skopeo", "copy", "--src-tls-verify=false", "--src-creds",
                                    registry.options().user + ":" + registry.options().password,
                                    "docker://" + repo + ":env-" + hash,
                                    "oci:" + (tmp.path() / "pulled").string() + ":x"});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;

  // A hit: exactly one manifest request.
  std::map<std::string, std::string> verbose_env = auth;
  ProcessResult hit = envbuild({"--verbose", "--json", "create", def, "--push", repo}, verbose_env);
  ASSERT_EQ(hit.exit_code, 0) << hit.err;
  EXPECT_EQ(json::parse(hit.out)["outcome"], "cache-hit");
  size_t manifest_requests = 0;
  for (size_t at = 0; (at = hit.err.find("/manifests/", at)) != std::string::npos; ++at)
    ++manifest_requests;
  EXPECT_EQ(manifest_requests, 1u) << hit.err;

  // The base tag moves (to an image packed here): a plain create keeps the
  // cached image, --refresh rebuilds on the new base, and a second --refresh
  // finds the lock unchanged.
  write_file(tmp.path() / "other-base" / "bin" / "tool", "#!/bin/sh\n", 0755);
  ProcessResult packed =
      envbuild({"pack", "--to", "oci:" + (tmp.path() / "other").string() + ":b2",
                (tmp.path() / "other-base").string(), "--env", "BASE_MARK=other"});
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
  const std::string creds = registry.options().user + ":" + registry.options().password;
  ProcessResult moved = run_process({"skopeo", "copy", "--dest-tls-verify=false", "--dest-creds",
                                     creds, "oci:" + (tmp.path() / "other").string() + ":b2",
                                     "docker://" + registry.host() + "/base/os:1"});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  const json kept = create_json({def, "--push", repo}, auth);
  EXPECT_EQ(kept["outcome"], "cache-hit");
  EXPECT_EQ(kept["digest"], built["digest"]);
  const json refreshed = create_json({def, "--push", repo, "--refresh"}, auth);
  EXPECT_EQ(refreshed["outcome"], "built");
  EXPECT_NE(refreshed["base"]["digest"], built["base"]["digest"]);
  EXPECT_NE(refreshed["digest"], built["digest"]);
  const json steady = create_json({def, "--push", repo, "--refresh"}, auth);
  EXPECT_EQ(steady["outcome"], "cache-hit");
  EXPECT_EQ(steady["digest"], refreshed["digest"]);
}

TEST_F(CreateTest, MultiPlatformIndexResolvesToAmd64OrTheAskedPlatform) {
  const std::string image =
      "oci:" + multi_platform_index_layout().string() + ":" + kMultiPlatformTag;
  const std::string def = user_managed(image);
  const json amd = create_json({def});
  const json arm = create_json({def, "--platform", "linux/arm64"});
  EXPECT_NE(amd["spec_hash"], arm["spec_hash"]);
  EXPECT_NE(amd["base"]["digest"], arm["base"]["digest"]);
  const json amd_cfg =
      skopeo_inspect("oci:" + store().string() + ":env-" + amd["spec_hash"].get<std::string>());
  EXPECT_EQ(amd_cfg["Architecture"], "amd64");
  EXPECT_TRUE(has_env(amd_cfg["Env"], "BASE_MARK=busybox"));
  ProcessResult arm_cfg =
      run_process({"skopeo", "inspect", "--override-arch", "arm64",
                   "oci:" + store().string() + ":env-" + arm["spec_hash"].get<std::string>()});
  ASSERT_EQ(arm_cfg.exit_code, 0) << arm_cfg.err;
  EXPECT_EQ(json::parse(arm_cfg.out)["Architecture"], "arm64");
  EXPECT_NE(arm_cfg.out.find("BASE_MARK=arm64"), std::string::npos);
  ProcessResult none = envbuild({"create", def, "--platform", "linux/s390x"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("has no linux/s390x image (it has: linux/amd64, linux/arm64)"),
            std::string::npos)
      << none.err;
}

// Two builds of one definition from different folders, stores, mtimes and
// umasks give one digest; SOURCE_DATE_EPOCH is part of the recipe.
TEST_F(CreateTest, SameDefinitionSameDigestAnywhere) {
  const std::string text =
      "name: byo\nimage: " + busybox_oci() + "\npython: {user_managed_dependencies: true}\n";
  write_file(tmp.path() / "a" / "env.yml", text, 0644);
  write_file(tmp.path() / "b" / "nested" / "env.yml", text, 0600);
  fs::last_write_time(tmp.path() / "b" / "nested" / "env.yml",
                      fs::file_time_type::clock::now() - std::chrono::hours(200));
  ProcessResult a = run_process({"sh", "-c", "umask 022; exec \"$0\" --json create \"$1\"",
                                 ENVBUILD_BIN, (tmp.path() / "a" / "env.yml").string()},
                                {{"ENVBUILD_HOME", (tmp.path() / "sa").string()}});
  ProcessResult b = run_process({"sh", "-c", "umask 077; exec \"$0\" --json create \"$1\"",
                                 ENVBUILD_BIN, (tmp.path() / "b" / "nested" / "env.yml").string()},
                                {{"ENVBUILD_HOME", (tmp.path() / "sb").string()}});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(json::parse(a.out)["digest"], json::parse(b.out)["digest"]);
  const json later =
      create_json({(tmp.path() / "a" / "env.yml").string()}, {{"SOURCE_DATE_EPOCH", "1700000000"}});
  EXPECT_NE(later["digest"], json::parse(a.out)["digest"]);
}

// Two creates of one definition at the same moment, into one local store
// and into one registry repository: both succeed with one digest and the
// stores verify.
TEST_F(CreateTest, ConcurrentCreatesAgreeAndLeaveStoresValid) {
  RegistryFixture registry;
  const std::string def = user_managed(busybox_oci());
  const std::string repo = registry.host() + "/race/env";
  for (const std::vector<std::string>& target :
       {std::vector<std::string>{}, std::vector<std::string>{"--push", repo}}) {
    std::vector<ChildProcess> children;
    for (int i = 0; i < 2; ++i) {
      std::vector<std::string> argv = {ENVBUILD_BIN, "--json", "create", def};
      argv.insert(argv.end(), target.begin(), target.end());
      children.push_back(spawn_process(argv, {{"ENVBUILD_HOME", store().string()}},
                                       tmp.path() / ("out" + std::to_string(i))));
    }
    std::set<std::string> digests;
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(children[i].wait(), 0) << slurp(tmp.path() / ("out" + std::to_string(i)));
      const std::string out = slurp(tmp.path() / ("out" + std::to_string(i)));
      const json j = json::parse(out.substr(std::min(out.find('{'), out.size())), nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << out;
      digests.insert(j["digest"].get<std::string>());
      fs::remove(tmp.path() / ("out" + std::to_string(i)));
    }
    EXPECT_EQ(digests.size(), 1u);
  }
  ProcessResult verify = envbuild({"store", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// A real Debian base (mmdebstrap minbase): umoci shows Debian's files and
// ours, and the config keeps Debian's command.
TEST_F(CreateTest, DebianBaseUnpacksWithUmoci) {
  const std::string def = user_managed("oci:" + debian_image_layout().string() + ":" + kDebianTag,
                                       "description: on a real Debian\n");
  const json built = create_json({def});
  ASSERT_EQ(built["outcome"], "built");
  const UnpackedImage u =
      umoci_unpack(store(), "env-" + built["spec_hash"].get<std::string>(), tmp.path() / "deb");
  EXPECT_EQ(slurp(u.rootfs / "etc/debian_version").substr(0, 2), "12");
  EXPECT_TRUE(fs::exists(u.rootfs / "usr/bin/dpkg"));
  EXPECT_TRUE(fs::exists(u.rootfs / "etc/envbuild/lock.json"));
  EXPECT_EQ(u.config["process"]["args"], json::array({"bash"}));
  bool debian_mark = false;
  for (const auto& e : u.config["process"]["env"]) debian_mark |= e == "BASE_MARK=debian";
  EXPECT_TRUE(debian_mark);
}

// Curated environments: list/show/export, publishing into one repository
// (docker.io is mirrored to the test registry), and create curated:NAME into
// another repository copying (mounting) the published image.
TEST_F(CreateTest, CuratedCatalogPublishAndCopy) {
  ProcessResult list = envbuild({"--json", "curated", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::set<std::string> names;
  for (const auto& e : json::parse(list.out)) names.insert(e["name"].get<std::string>());
  for (const char* n : {"minimal-python", "sklearn-1.5", "pytorch-2.3-cpu", "pytorch-2.3-cuda12",
                        "debian12-user-managed"})
    EXPECT_TRUE(names.count(n)) << n;
  ProcessResult show = envbuild({"curated", "show", "pytorch-2.3-cuda12"});
  EXPECT_NE(show.out.find("nvidia/cuda"), std::string::npos);
  ProcessResult exported =
      envbuild({"curated", "export", "sklearn-1.5", (tmp.path() / "mine").string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string mine = (tmp.path() / "mine" / "my-sklearn-1.5.yml").string();
  EXPECT_NE(slurp(mine).find("name: my-sklearn-1.5"), std::string::npos);
  ProcessResult again =
      envbuild({"curated", "export", "sklearn-1.5", (tmp.path() / "mine").string()});
  EXPECT_EQ(again.exit_code, 1);  // never overwrites
  // The exported definition is a user definition: it parses, and its plan
  // reaches for its base and conda-forge, which this machine cannot reach
  // (a network error, exit 4, not a definition error).
  ProcessResult exported_plan =
      envbuild({"create", mine, "--dry-run", "--channel-alias", "http://127.0.0.1:1"});
  EXPECT_EQ(exported_plan.exit_code, 4) << exported_plan.err;

  RegistryFixture registry;
  push_layout_image(busybox_image_layout(), kBusyboxTag, registry, "library/debian");
  run_process({"skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
               "docker://" + registry.host() + "/library/debian:1",
               "docker://" + registry.host() + "/library/debian:12-slim"});
  const std::map<std::string, std::string> mirror = {
      {"ENVBUILD_REGISTRY_MIRRORS", "docker.io=" + registry.host()}};
  const std::string curated_repo = registry.host() + "/curated";
  ProcessResult published = envbuild(
      {"--json", "curated", "publish", "--push", curated_repo, "debian12-user-managed"}, mirror);
  ASSERT_EQ(published.exit_code, 0) << published.err;
  const json pj = json::parse(published.out);
  ASSERT_EQ(pj.size(), 1u);
  std::set<std::string> tags(pj[0]["tags"].begin(), pj[0]["tags"].end());
  EXPECT_TRUE(tags.count("curated-debian12-user-managed-v1"));
  EXPECT_TRUE(tags.count("curated-debian12-user-managed"));
  EXPECT_EQ(
      skopeo_inspect("docker://" + curated_repo + ":curated-debian12-user-managed-v1")["Digest"],
      pj[0]["reference"].get<std::string>().substr(curated_repo.size() + 1));

  const json copied = create_json({"curated:debian12-user-managed", "--push",
                                   registry.host() + "/team/envs", "--curated-from", curated_repo},
                                  mirror);
  EXPECT_EQ(copied["outcome"], "copied-curated");
  EXPECT_EQ(copied["reference"].get<std::string>().substr(
                copied["reference"].get<std::string>().find('@')),
            pj[0]["reference"].get<std::string>().substr(
                pj[0]["reference"].get<std::string>().find('@')));
  // Publishing an environment with packages fails clearly, the others still go.
  ProcessResult with_packages =
      envbuild({"curated", "publish", "--push", curated_repo, "minimal-python"}, mirror);
  EXPECT_EQ(with_packages.exit_code, 1);
  EXPECT_NE(with_packages.err.find("curated:minimal-python:1"), std::string::npos)
      << with_packages.err;
}
