// envbuild copy under faults, kills and concurrency, and with multi-platform
// indexes: the cases a scheduler's worker meets in practice.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "registry/descriptor_json.hpp"
#include "registry/layout_store.hpp"
#include "registry/media_types.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace envbuild::testing;
namespace reg = envbuild::registry;

namespace {

class Resilience : public ::testing::Test {
 protected:
  TempDir tmp{"envbuild-resilience"};
  fs::path store() const { return tmp.path() / "store"; }

  std::vector<std::string> cmd(std::vector<std::string> args) const {
    args.insert(args.begin(), ENVBUILD_BIN);
    return args;
  }
  std::map<std::string, std::string> env() const { return {{"ENVBUILD_HOME", store().string()}}; }
  ProcessResult envbuild(std::vector<std::string> args) {
    return run_process(cmd(std::move(args)), env());
  }

  // A layout holding an image of `layers` layers of `mib` MiB of random bytes.
  std::string make_image(const std::string& location, int layers, int mib, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> args = {"--json", "pack", "--compression", "none", "--to", location};
    for (int i = 0; i < layers; ++i) {
      fs::path dir = tmp.path() / ("src-" + std::to_string(seed) + "-" + std::to_string(i));
      fs::create_directories(dir);
      std::string data(static_cast<size_t>(mib) << 20, '\0');
      for (size_t k = 0; k + 8 <= data.size(); k += 8) {
        uint64_t v = rng();
        std::memcpy(&data[k], &v, 8);
      }
      std::ofstream(dir / "data.bin", std::ios::binary) << data;
      args.push_back(dir.string());
    }
    auto r = envbuild(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out).at("digest").get<std::string>();
  }

  void expect_store_valid() {
    auto v = envbuild({"--json", "store", "verify"});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }
};

std::string digest_of(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  return nlohmann::json::parse(r.out).at("digest").get<std::string>();
}

}  // namespace

TEST_F(Resilience, CopyCompletesThroughResetsErrorsAndStalls) {
  RegistryFixture registry;
  std::string layout = "oci:" + (tmp.path() / "layout").string();
  std::string digest = make_image(layout + ":big", 3, 2, 1);
  FaultPlan plan;
  plan.reset_mid_blob = 2;
  plan.http_500 = 2;
  plan.http_429 = 1;
  plan.stall = 1;
  plan.stall_for = std::chrono::milliseconds(500);
  FaultProxy proxy(registry.host(), plan);
  auto push = envbuild({"--json", "copy", layout + ":big", proxy.host() + "/faulty/img:1"});
  EXPECT_EQ(digest_of(push), digest);
  EXPECT_GE(proxy.faults_injected(), 4);

  FaultPlan pull_plan;
  pull_plan.reset_mid_blob = 2;
  pull_plan.http_500 = 1;
  FaultProxy pull_proxy(registry.host(), pull_plan);
  auto pull = envbuild({"--json", "copy", pull_proxy.host() + "/faulty/img:1", "pulled:1"});
  EXPECT_EQ(digest_of(pull), digest);
  EXPECT_GE(pull_proxy.faults_injected(), 2);
  expect_store_valid();
}

// A manifest that the registry briefly calls blob-less (distribution while
// another push of the same blob rewrites its link) is pushed again; one that
// stays blob-less fails after the retries, naming the code.
TEST_F(Resilience, ManifestBlobUnknownIsRetriedBriefly) {
  RegistryFixture registry;
  std::string layout = "oci:" + (tmp.path() / "layout").string();
  std::string digest = make_image(layout + ":img", 1, 1, 1);
  FaultProxy transient(registry.host(), FaultPlan{.manifest_blob_unknown = 2});
  EXPECT_EQ(
      digest_of(envbuild({"--json", "copy", layout + ":img", transient.host() + "/race/img:1"})),
      digest);
  EXPECT_EQ(transient.faults_injected(), 2);

  FaultProxy lasting(registry.host(), FaultPlan{.manifest_blob_unknown = 100});
  ProcessResult failed =
      run_process(cmd({"copy", layout + ":img", lasting.host() + "/race/img:2"}), env());
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.err.find("MANIFEST_BLOB_UNKNOWN"), std::string::npos) << failed.err;
  EXPECT_EQ(lasting.faults_injected(), 5) << "the first push and four retries";
}

TEST_F(Resilience, KilledCopyLeavesValidStoreAndRerunCompletes) {
  RegistryFixture registry;
  std::string layout = "oci:" + (tmp.path() / "layout").string();
  std::string digest = make_image(layout + ":big", 4, 8, 2);
  ASSERT_EQ(
      digest_of(envbuild({"--json", "copy", layout + ":big", registry.host() + "/kill/img:1"})),
      digest);

  std::mt19937 rng(7);
  for (int round = 0; round < 4; ++round) {
    // A fresh destination each round so there is always work to interrupt.
    std::string dst = "killed" + std::to_string(round) + ":1";
    auto child = spawn_process(cmd({"copy", registry.host() + "/kill/img:1", dst}), env(),
                               tmp.path() / ("copy" + std::to_string(round) + ".log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 150));
    child.kill(SIGKILL);
    child.wait();
    expect_store_valid();
    auto rerun = envbuild({"--json", "copy", registry.host() + "/kill/img:1", dst});
    EXPECT_EQ(digest_of(rerun), digest);
  }
  expect_store_valid();
}

TEST_F(Resilience, FourConcurrentCopiesIntoOneStore) {
  RegistryFixture registry;
  std::string layout = "oci:" + (tmp.path() / "layout").string();
  std::vector<std::string> digests;
  for (unsigned i = 0; i < 4; ++i) {
    std::string d = make_image(layout + ":img" + std::to_string(i), 2, 1, 10 + i);
    ASSERT_EQ(digest_of(envbuild({"--json", "copy", layout + ":img" + std::to_string(i),
                                  registry.host() + "/conc/img:" + std::to_string(i)})),
              d);
    digests.push_back(d);
  }
  std::vector<ChildProcess> children;
  for (int i = 0; i < 4; ++i) {
    // Every process copies all four images, in a different order, so they
    // race on the same blobs and on index.json.
    std::string script;
    for (int k = 0; k < 4; ++k) {
      int img = (i + k) % 4;
      script += std::string(ENVBUILD_BIN) + " --quiet copy " + registry.host() +
                "/conc/img:" + std::to_string(img) + " conc/img:" + std::to_string(img) +
                " >/dev/null || exit 1; ";
    }
    children.push_back(
        spawn_process({"/bin/sh", "-c", script}, env(), tmp.path() / ("w" + std::to_string(i))));
  }
  for (auto& c : children) EXPECT_EQ(c.wait(), 0);
  expect_store_valid();
  auto ls = envbuild({"--json", "store", "ls"});
  ASSERT_EQ(ls.exit_code, 0);
  auto names = nlohmann::json::parse(ls.out).at("names");
  for (int i = 0; i < 4; ++i) {
    std::string name = "conc/img:" + std::to_string(i);
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    auto raw = envbuild({"inspect", "--raw", name});
    EXPECT_EQ(reg::Digest::sha256_of(raw.out).str(), digests[static_cast<size_t>(i)]);
  }
}

TEST_F(Resilience, MultiPlatformIndexCopiesWithAllChildren) {
  RegistryFixture registry;
  fs::path layout_dir = tmp.path() / "layout";
  std::string layout = "oci:" + layout_dir.string();
  make_image(layout + ":amd", 1, 1, 20);
  make_image(layout + ":arm", 1, 1, 21);
  reg::LayoutStore store(layout_dir);
  nlohmann::ordered_json index;
  index["schemaVersion"] = 2;
  index["mediaType"] = std::string(reg::media::kOciIndex);
  index["manifests"] = nlohmann::ordered_json::array();
  for (auto [tag, arch] : {std::pair{"amd", "amd64"}, std::pair{"arm", "arm64"}}) {
    auto m = store.get_manifest(tag);
    reg::Descriptor d{m.media_type,
                      m.digest,
                      static_cast<int64_t>(m.bytes.size()),
                      {},
                      {},
                      reg::Platform{arch, "linux", "", "", {}},
                      ""};
    index["manifests"].push_back(reg::descriptor_to_json(d));
  }
  reg::ManifestBytes bytes{std::string(reg::media::kOciIndex), index.dump(2), {}};
  bytes.digest = reg::Digest::sha256_of(bytes.bytes);
  store.put_manifest(bytes, "multi");

  std::string remote = registry.host() + "/multi/img:1";
  auto push = envbuild({"--json", "copy", layout + ":multi", remote});
  EXPECT_EQ(digest_of(push), bytes.digest.str());
  EXPECT_EQ(nlohmann::json::parse(push.out).at("manifests").get<int>(), 3);

  auto sk = run_process({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + remote});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  EXPECT_EQ(sk.out, bytes.bytes);  // not one byte changed
  auto arm = run_process({"skopeo", "inspect", "--tls-verify=false", "--override-arch", "arm64",
                          "docker://" + remote});
  ASSERT_EQ(arm.exit_code, 0) << arm.err;
  EXPECT_EQ(nlohmann::json::parse(arm.out).at("Architecture"),
            "amd64");  // pack writes amd64 configs

  auto pull = envbuild({"--json", "copy", remote, "multi:1"});
  EXPECT_EQ(digest_of(pull), bytes.digest.str());
  auto summary = envbuild({"--json", "inspect", "multi:1"});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_EQ(nlohmann::json::parse(summary.out).at("Manifests").size(), 2u);
  expect_store_valid();
}
