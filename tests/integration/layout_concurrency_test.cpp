// Multi-process behaviour of LayoutStore: concurrent writers, writers killed
// with SIGKILL at random moments, and interoperability with skopeo.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "registry/atomic_file.hpp"
#include "registry/descriptor_json.hpp"
#include "registry/layout_store.hpp"
#include "registry/media_types.hpp"
#include "registry/store_maintenance.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::registry;
namespace fs = std::filesystem;

namespace {

// Runs `body` in a forked child that exits 0 on success, 1 on an exception.
pid_t spawn(const std::function<void()>& body) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
      code = 1;
    }
    ::_exit(code);  // never return into the test framework
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

Descriptor put_bytes(LayoutStore& store, std::string_view media_type, const std::string& data) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = Digest::sha256_of(data);
  d.size = static_cast<int64_t>(data.size());
  MemoryBlobReader reader(data);
  store.put_blob(d, reader);
  return d;
}

ManifestBytes manifest_of(const Descriptor& config, const std::vector<Descriptor>& layers) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media::kOciManifest;
  j["config"] = descriptor_to_json(config);
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : layers) j["layers"].push_back(descriptor_to_json(l));
  std::string bytes = j.dump();
  return {std::string(media::kOciManifest), bytes, Digest::sha256_of(bytes)};
}

std::string pattern(const std::string& seed, size_t size) {
  std::string out;
  out.reserve(size + seed.size());
  while (out.size() < size) out += seed;
  out.resize(size);
  return out;
}

size_t temp_files_in(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (is_temp_name(e.path().filename().string())) ++n;
  }
  return n;
}

std::string run_capture(const std::string& command, int& status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, got);
  status = ::pclose(pipe);
  return out;
}

std::string sha256_file(const fs::path& path) {
  FileBlobReader reader(path);
  return Digest::sha256_of(read_all(reader, 1 << 26)).str();
}

}  // namespace

TEST(LayoutConcurrency, FourProcessesWriteOneStore) {
  envbuild::testing::TempDir tmp;
  fs::path dir = tmp.path() / "store";
  { LayoutStore create(dir); }
  constexpr int kProcesses = 4;
  constexpr int kImagesEach = 8;

  // Children wait on the pipe so they all start writing together.
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    children.push_back(spawn([&, p] {
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      LayoutStore store(dir);
      Descriptor config =
          put_bytes(store, media::kOciConfig, R"({"architecture":"amd64","os":"linux"})");
      for (int i = 0; i < kImagesEach; ++i) {
        Descriptor shared =
            put_bytes(store, media::kOciLayerGzip, pattern("shared layer ", 256 * 1024));
        Descriptor own = put_bytes(
            store, media::kOciLayerGzip,
            pattern("proc " + std::to_string(p) + " image " + std::to_string(i), 64 * 1024));
        store.put_manifest(manifest_of(config, {own, shared}),
                           "p" + std::to_string(p) + "/img:" + std::to_string(i));
        store.put_manifest(manifest_of(config, {shared}), std::string("shared:latest"));
        store.put_manifest(manifest_of(config, {own}), std::string("race:latest"));
      }
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);
  for (pid_t pid : children) {
    int status = wait_for(pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }

  LayoutStore store(dir);
  std::vector<std::string> tags = store.list_tags();
  EXPECT_EQ(tags.size(), static_cast<size_t>(kProcesses * kImagesEach + 2));
  for (int p = 0; p < kProcesses; ++p) {
    for (int i = 0; i < kImagesEach; ++i) {
      std::string tag = "p" + std::to_string(p) + "/img:" + std::to_string(i);
      EXPECT_TRUE(store.find_manifest(tag).has_value()) << tag;
    }
  }
  EXPECT_TRUE(store.find_manifest("shared:latest").has_value());
  EXPECT_TRUE(store.find_manifest("race:latest").has_value());
  EXPECT_EQ(store.index_entries().size(), tags.size());  // one entry per tag, no duplicates
  VerifyReport report = verify(store);
  EXPECT_TRUE(report.ok()) << report.problems.front();
  EXPECT_EQ(report.manifests_checked, tags.size());
  EXPECT_EQ(temp_files_in(dir), 0u);
}

TEST(LayoutConcurrency, SigkillAtAnyMomentLeavesAValidStore) {
  envbuild::testing::TempDir tmp;
  fs::path dir = tmp.path() / "store";
  { LayoutStore create(dir); }
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(5, 80);
  for (int round = 0; round < 8; ++round) {
    pid_t pid = spawn([&, round] {
      LayoutStore store(dir);
      Descriptor config =
          put_bytes(store, media::kOciConfig, R"({"architecture":"amd64","os":"linux"})");
      for (int i = 0;; ++i) {
        std::string seed = "round " + std::to_string(round) + " blob " + std::to_string(i) + " ";
        Descriptor big = put_bytes(store, media::kOciLayerGzip, pattern(seed, 1024 * 1024 + i));
        ManifestBytes m = manifest_of(config, {big});
        store.put_manifest(m, "kill:" + std::to_string(i % 4));
        store.put_manifest(m, std::string("kill:latest"));
        if (i % 3 == 0) store.put_manifest(manifest_of(config, {big, big}), std::nullopt);
      }
    });
    if (round == 0) {
      // Make sure the writer gets something done, however slow the machine.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (LayoutStore(dir).list_tags().empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = wait_for(pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child ended on its own, status " << status;

    LayoutStore store(dir);  // index.json and oci-layout still parse
    VerifyReport report = verify(store);
    EXPECT_TRUE(report.ok()) << "round " << round << ": " << report.problems.front();
  }
  LayoutStore store(dir);
  EXPECT_FALSE(store.list_tags().empty()) << "the writer never got anything done";
  gc(store, false, {std::chrono::seconds(0)});
  EXPECT_EQ(temp_files_in(dir), 0u);  // abandoned temps of killed writers are gone
  VerifyReport report = verify(store);
  EXPECT_TRUE(report.ok()) << report.problems.front();
}

TEST(LayoutConcurrency, SkopeoReadsAndCopiesFromOurLayout) {
  envbuild::testing::TempDir tmp;
  fs::path root = tmp.path() / "rootfs";
  fs::create_directories(root / "etc");
  { std::ofstream(root / "etc" / "hello.txt") << "hello from envbuild\n"; }
  fs::path tar = tmp.path() / "layer.tar";
  fs::path gz = tmp.path() / "layer.tar.gz";
  ASSERT_EQ(std::system(("tar -C " + root.string() + " -cf " + tar.string() + " . && gzip -n -c " +
                         tar.string() + " > " + gz.string())
                            .c_str()),
            0);

  fs::path dir = tmp.path() / "store";
  LayoutStore store(dir);
  Descriptor layer;
  layer.media_type = std::string(media::kOciLayerGzip);
  layer.digest = Digest::parse(sha256_file(gz));
  layer.size = static_cast<int64_t>(fs::file_size(gz));
  FileBlobReader layer_reader(gz);
  store.put_blob(layer, layer_reader);
  nlohmann::ordered_json config_json = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", nlohmann::ordered_json::object()},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_file(tar)}}}}};
  Descriptor config = put_bytes(store, media::kOciConfig, config_json.dump());
  ManifestBytes manifest = manifest_of(config, {layer});
  store.put_manifest(manifest, std::string("team/env:v1"));

  int status = 0;
  std::string out =
      run_capture("timeout 120 skopeo inspect oci:" + dir.string() + ":team/env:v1", status);
  ASSERT_EQ(status, 0) << out;
  auto inspected = nlohmann::json::parse(out);
  EXPECT_EQ(inspected["Digest"], manifest.digest.str());
  EXPECT_EQ(inspected["Architecture"], "amd64");
  ASSERT_EQ(inspected["Layers"].size(), 1u);
  EXPECT_EQ(inspected["Layers"][0], layer.digest.str());

  fs::path copy_dir = tmp.path() / "copy";
  out = run_capture("timeout 120 skopeo --insecure-policy copy -q oci:" + dir.string() +
                        ":team/env:v1 oci:" + copy_dir.string() + ":copied 2>&1",
                    status);
  ASSERT_EQ(status, 0) << out;
  LayoutStore copied(copy_dir);  // and we read what skopeo wrote
  EXPECT_EQ(copied.get_manifest("copied").digest, manifest.digest);
  EXPECT_TRUE(copied.has_blob(layer.digest));
  VerifyReport report = verify(copied);
  EXPECT_TRUE(report.ok()) << report.problems.front();
}
