// The base image fixtures (tests/support/base_images.hpp) checked with
// independent clients: umoci unpacks them, skopeo inspects them in the
// layout and after a push to a real registry, and the unpacked programs run.
#include "tests/support/base_images.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "registry/layout_store.hpp"
#include "registry/manifest.hpp"
#include "registry/media_types.hpp"
#include "registry/store_maintenance.hpp"
#include "tests/support/files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/umoci_unpack.hpp"

using namespace envbuild;
using namespace envbuild::testing;
namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::seconds;

namespace {

// `skopeo [global...] inspect [extra...] REF` parsed as JSON; a failure
// fails the test with skopeo's stderr.
json skopeo_inspect(const std::string& ref, std::vector<std::string> extra = {},
                    std::vector<std::string> global = {}) {
  std::vector<std::string> argv = {"skopeo"};
  argv.insert(argv.end(), global.begin(), global.end());
  argv.push_back("inspect");
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(ref);
  ProcessResult r = run_process(argv, {}, seconds(60));
  EXPECT_EQ(r.exit_code, 0) << ref << ": " << r.err;
  if (r.exit_code != 0) return json::object();
  return json::parse(r.out);
}

std::string oci_ref(const fs::path& layout, const std::string& tag) {
  return "oci:" + layout.string() + ":" + tag;
}

std::vector<std::string> strings(const json& j) {
  return j.is_array() ? j.get<std::vector<std::string>>() : std::vector<std::string>{};
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

std::string tagged_digest(const fs::path& layout, const std::string& tag) {
  registry::LayoutStore store(layout);
  return store.get_manifest(tag).digest.str();
}

void expect_verified(const fs::path& layout) {
  registry::LayoutStore store(layout);
  registry::VerifyReport report = registry::verify(store);
  EXPECT_TRUE(report.ok()) << layout << ": " << report.problems.front();
}

// The lines of the cache's build log naming `name`.
std::vector<std::string> builds_of(const fs::path& cache, const std::string& name) {
  std::vector<std::string> out;
  if (!fs::exists(cache / "builds.log")) return out;
  std::istringstream in(slurp(cache / "builds.log"));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(name + " ")) out.push_back(line);
  }
  return out;
}

TEST(BaseImages, BusyboxUnpacksWithUmociAndRuns) {
  const fs::path layout = busybox_image_layout();
  TempDir tmp{"envbuild-base-busybox"};
  UnpackedImage image = umoci_unpack(layout, kBusyboxTag, tmp.path() / "bundle");

  ProcessResult echo = run_process({(image.rootfs / "bin/busybox").string(), "echo", "hi"});
  EXPECT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "hi\n");
  // Applets through their symlinks: busybox dispatches on argv[0].
  ProcessResult sh = run_process({(image.rootfs / "bin/sh").string(), "-c", "echo $((6 * 7))"});
  EXPECT_EQ(sh.exit_code, 0) << sh.err;
  EXPECT_EQ(sh.out, "42\n");
  for (const char* applet : {"sh", "ls", "cat", "echo", "env", "test", "true"}) {
    const fs::path link = image.rootfs / "bin" / applet;
    EXPECT_TRUE(fs::is_symlink(link)) << link;
    if (fs::is_symlink(link)) {
      EXPECT_EQ(fs::read_symlink(link), "busybox") << link;
    }
  }
  ProcessResult t = run_process({(image.rootfs / "bin/true").string()});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(slurp(image.rootfs / "etc/passwd").starts_with("root:x:0:0:"));
  EXPECT_EQ(mode_of(image.rootfs / "tmp") & 07777, 01777u);
  EXPECT_TRUE(S_ISDIR(mode_of(image.rootfs / "tmp")));

  const json& process = image.config.at("process");
  EXPECT_EQ(strings(process.at("args")), std::vector<std::string>{"sh"});
  EXPECT_EQ(process.at("cwd"), "/");
  EXPECT_TRUE(contains(strings(process.at("env")), kBaseImagePath)) << process.dump();
  EXPECT_TRUE(contains(strings(process.at("env")), "BASE_MARK=busybox")) << process.dump();
  EXPECT_EQ(process.at("user").value("uid", -1), 0);
}

TEST(BaseImages, BusyboxAsSkopeoSeesIt) {
  const fs::path layout = busybox_image_layout();
  // skopeo splits oci:PATH:REF at the first ':' after "oci:", so a tag with
  // a ':' of its own works as long as the path has none.
  json info = skopeo_inspect(oci_ref(layout, kBusyboxTag));
  EXPECT_EQ(info.value("Os", ""), "linux");
  EXPECT_EQ(info.value("Architecture", ""), "amd64");
  EXPECT_EQ(strings(info["Env"]), (std::vector<std::string>{kBaseImagePath, "BASE_MARK=busybox"}));
  EXPECT_EQ(info["Layers"].size(), 1u);
  EXPECT_EQ(info.value("Digest", ""), tagged_digest(layout, kBusyboxTag));

  json config = skopeo_inspect(oci_ref(layout, kBusyboxTag), {"--config"});
  const json& c = config["config"];
  EXPECT_EQ(strings(c["Cmd"]), std::vector<std::string>{"sh"});
  EXPECT_EQ(c.value("WorkingDir", ""), "/");
  EXPECT_FALSE(c.contains("User")) << c.dump();
  EXPECT_EQ(config["rootfs"]["diff_ids"].size(), 1u);

  json raw = skopeo_inspect(oci_ref(layout, kBusyboxTag), {"--raw"});
  EXPECT_EQ(raw.value("mediaType", ""), registry::media::kOciManifest);
  EXPECT_EQ(raw["layers"][0].value("mediaType", ""), registry::media::kOciLayerGzip);
  expect_verified(layout);
}

TEST(BaseImages, DebianIsARealBookwormRootfs) {
  const fs::path layout = debian_image_layout();
  EXPECT_TRUE(fs::is_regular_file(base_image_cache_dir() / "mmdebstrap-bookworm-minbase.tar"));
  TempDir tmp{"envbuild-base-debian"};
  UnpackedImage image = umoci_unpack(layout, kDebianTag, tmp.path() / "bundle");

  EXPECT_TRUE(slurp(image.rootfs / "etc/debian_version").starts_with("12"))
      << slurp(image.rootfs / "etc/debian_version");
  EXPECT_TRUE(fs::is_regular_file(image.rootfs / "usr/bin/dpkg"));
  EXPECT_TRUE(mode_of(image.rootfs / "usr/bin/dpkg") & S_IXUSR);
  EXPECT_TRUE(fs::exists(image.rootfs / "usr/bin/bash"));
  // /dev was emptied (device nodes cannot be layer entries); the rest keeps
  // its exact modes.
  EXPECT_TRUE(fs::is_directory(image.rootfs / "dev"));
  EXPECT_TRUE(fs::is_empty(image.rootfs / "dev"));
  EXPECT_EQ(mode_of(image.rootfs / "tmp") & 07777, 01777u);
  if (::geteuid() == 0) {
    // umoci keeps set-id bits only when unpacking as root.
    EXPECT_TRUE(mode_of(image.rootfs / "usr/bin/su") & S_ISUID);
    // And the tree works as a system: dpkg inside it knows its packages.
    ProcessResult q = run_process(
        {"chroot", image.rootfs.string(), "dpkg-query", "-W", "-f=${Version}", "base-files"});
    EXPECT_EQ(q.exit_code, 0) << q.err;
    EXPECT_TRUE(q.out.starts_with("12.")) << q.out;
  }

  const json& process = image.config.at("process");
  EXPECT_EQ(strings(process.at("args")), std::vector<std::string>{"bash"});
  // umoci adds TERM=xterm and HOME=/root to what the image config says.
  EXPECT_TRUE(contains(strings(process.at("env")), kBaseImagePath)) << process.dump();
  EXPECT_TRUE(contains(strings(process.at("env")), "BASE_MARK=debian")) << process.dump();

  registry::LayoutStore store(layout);
  registry::ImageManifest manifest = registry::ImageManifest::parse(store.get_manifest(kDebianTag));
  ASSERT_EQ(manifest.layers.size(), 1u);
  EXPECT_EQ(manifest.layers[0].media_type, registry::media::kOciLayerGzip);
  // A whole Debian rootfs: tens of MB even gzipped.
  EXPECT_GT(manifest.layers[0].size, 20 * 1024 * 1024);
}

TEST(BaseImages, DebianWithoutMmdebstrapFailsClearly) {
  TempDir tmp{"envbuild-base-cache"};
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path ? old_path : "";
  ::setenv("PATH", (tmp.path() / "empty-bin").c_str(), 1);
  std::string message;
  try {
    debian_image_layout(tmp.path() / "cache");
  } catch (const std::exception& e) {
    message = e.what();
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_NE(message.find("mmdebstrap is not installed"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(tmp.path() / "cache" / "mmdebstrap-bookworm-minbase.tar"));
}

TEST(BaseImages, MultiPlatformIndexHasBothPlatforms) {
  const fs::path layout = multi_platform_index_layout();
  json raw = skopeo_inspect(oci_ref(layout, kMultiPlatformTag), {"--raw"});
  EXPECT_EQ(raw.value("mediaType", ""), registry::media::kOciIndex);
  ASSERT_EQ(raw["manifests"].size(), 2u) << raw.dump();
  std::vector<std::string> platforms;
  for (const json& child : raw["manifests"]) {
    EXPECT_EQ(child.value("mediaType", ""), registry::media::kOciManifest);
    platforms.push_back(child["platform"].value("os", "") + "/" +
                        child["platform"].value("architecture", ""));
  }
  EXPECT_EQ(platforms, (std::vector<std::string>{"linux/amd64", "linux/arm64"}));
  EXPECT_NE(raw["manifests"][0]["digest"], raw["manifests"][1]["digest"]);
  // The amd64 child is busybox:1 byte for byte: same recipe, same digest.
  EXPECT_EQ(raw["manifests"][0]["digest"], tagged_digest(busybox_image_layout(), kBusyboxTag));

  // skopeo picks the child for the platform asked for.
  json amd64 = skopeo_inspect(oci_ref(layout, kMultiPlatformTag));
  EXPECT_EQ(amd64.value("Architecture", ""), "amd64");
  EXPECT_TRUE(contains(strings(amd64["Env"]), "BASE_MARK=busybox")) << amd64.dump();
  json arm64 = skopeo_inspect(oci_ref(layout, kMultiPlatformTag), {},
                              {"--override-arch", "arm64", "--override-os", "linux"});
  EXPECT_EQ(arm64.value("Architecture", ""), "arm64");
  EXPECT_TRUE(contains(strings(arm64["Env"]), "BASE_MARK=arm64")) << arm64.dump();
  EXPECT_EQ(registry::LayoutStore(layout).list_tags(), std::vector<std::string>{kMultiPlatformTag});
  expect_verified(layout);
}

TEST(BaseImages, PushToRegistry) {
  RegistryFixture registry;
  const std::string ref =
      push_layout_image(busybox_image_layout(), kBusyboxTag, registry, "base/busybox");
  EXPECT_EQ(ref, registry.host() + "/base/busybox:1");
  json info = skopeo_inspect("docker://" + ref, {"--tls-verify=false"});
  EXPECT_EQ(info.value("Architecture", ""), "amd64");
  EXPECT_EQ(info.value("Digest", ""), tagged_digest(busybox_image_layout(), kBusyboxTag));
  EXPECT_TRUE(contains(strings(info["Env"]), "BASE_MARK=busybox")) << info.dump();

  // An index goes with all its children.
  const std::string multi =
      push_layout_image(multi_platform_index_layout(), kMultiPlatformTag, registry, "base/multi");
  EXPECT_EQ(multi, registry.host() + "/base/multi:1");
  json raw = skopeo_inspect("docker://" + multi, {"--tls-verify=false", "--raw"});
  EXPECT_EQ(raw.value("mediaType", ""), registry::media::kOciIndex);
  EXPECT_EQ(raw["manifests"].size(), 2u);
  json arm64 = skopeo_inspect("docker://" + multi, {"--tls-verify=false"},
                              {"--override-arch", "arm64", "--override-os", "linux"});
  EXPECT_EQ(arm64.value("Architecture", ""), "arm64");
  EXPECT_TRUE(contains(strings(arm64["Env"]), "BASE_MARK=arm64")) << arm64.dump();
}

TEST(BaseImages, PushToRegistryWithBasicAuth) {
  RegistryFixtureOptions options;
  options.auth = RegistryAuth::Basic;
  RegistryFixture registry(options);
  const std::string ref =
      push_layout_image(busybox_image_layout(), kBusyboxTag, registry, "base/busybox");
  json info = skopeo_inspect(
      "docker://" + ref, {"--tls-verify=false", "--creds", options.user + ":" + options.password});
  EXPECT_EQ(info.value("Digest", ""), tagged_digest(busybox_image_layout(), kBusyboxTag));
}

// Runs `body` in a forked child once the pipe `gate` reads EOF (when the
// parent closes its write end); the child exits 0 on success, 1 on an
// exception.
pid_t spawn_gated(const int gate[2], const std::function<void()>& body) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(gate[1]);
    char c;
    while (::read(gate[0], &c, 1) > 0) {
    }
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
      code = 1;
    }
    std::fflush(stderr);
    ::_exit(code);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(BaseImages, ConcurrentProcessesBuildOnceFromAnEmptyCache) {
  TempDir tmp{"envbuild-base-cache"};
  const fs::path cache = tmp.path() / "cache";
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const fs::path result = tmp.path() / ("result-" + std::to_string(i));
    children.push_back(spawn_gated(gate, [&cache, result] {
      const fs::path layout = busybox_image_layout(cache);
      write_file(result, layout.string() + "\n" + tagged_digest(layout, kBusyboxTag));
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);  // both start now
  for (pid_t pid : children) EXPECT_EQ(wait_for(pid), 0);

  const std::string first = slurp(tmp.path() / "result-0");
  EXPECT_EQ(first, slurp(tmp.path() / "result-1"));
  const fs::path layout = first.substr(0, first.find('\n'));
  EXPECT_EQ(layout.parent_path().parent_path(), cache);
  EXPECT_EQ(builds_of(cache, "busybox").size(), 1u);
  for (const auto& child : fs::directory_iterator(cache)) {
    EXPECT_FALSE(child.path().filename().string().starts_with(".building-")) << child.path();
  }
  expect_verified(layout);
  // Same recipe, same bytes as the shared cache's image.
  EXPECT_EQ(tagged_digest(layout, kBusyboxTag), tagged_digest(busybox_image_layout(), kBusyboxTag));

  // Warm: reused, not rebuilt.
  EXPECT_EQ(busybox_image_layout(cache), layout);
  EXPECT_EQ(builds_of(cache, "busybox").size(), 1u);
}

TEST(BaseImages, IncompleteCacheEntriesAreRebuilt) {
  TempDir tmp{"envbuild-base-cache"};
  const fs::path cache = tmp.path() / "cache";
  const fs::path layout = busybox_image_layout(cache);
  const std::string digest = tagged_digest(layout, kBusyboxTag);

  // No marker: as if the entry had been half deleted.
  fs::remove(layout.parent_path() / "complete");
  EXPECT_EQ(busybox_image_layout(cache), layout);
  EXPECT_EQ(builds_of(cache, "busybox").size(), 2u);
  EXPECT_TRUE(fs::exists(layout.parent_path() / "complete"));

  // A blob the tag needs is gone.
  registry::LayoutStore store(layout);
  registry::ImageManifest manifest =
      registry::ImageManifest::parse(store.get_manifest(kBusyboxTag));
  fs::remove(store.blob_path(manifest.layers.at(0).digest));
  EXPECT_EQ(busybox_image_layout(cache), layout);
  EXPECT_EQ(builds_of(cache, "busybox").size(), 3u);
  EXPECT_EQ(tagged_digest(layout, kBusyboxTag), digest);
  expect_verified(layout);

  // A dead builder's leftovers are cleared by the next build.
  fs::create_directories(cache / ".building-busybox-1-dead" / "layout");
  fs::remove(layout.parent_path() / "complete");
  busybox_image_layout(cache);
  EXPECT_FALSE(fs::exists(cache / ".building-busybox-1-dead"));
}

}  // namespace
