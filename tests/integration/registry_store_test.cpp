// RegistryStore against a real docker-registry (tests/support fixture),
// with Basic and token auth, through a fault-injecting proxy, and checked
// with skopeo as an independent client.
#include "registry/registry_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "registry/error.hpp"
#include "registry/media_types.hpp"
#include "tests/support/base64.hpp"
#include "tests/support/error_kind.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::registry;
using namespace envbuild::testing;
namespace fs = std::filesystem;

namespace {

using envbuild::testing::kind_of;

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = random();
    for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

Descriptor describe(std::string_view media_type, const std::string& data) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = Digest::sha256_of(data);
  d.size = static_cast<int64_t>(data.size());
  return d;
}

void push(Store& store, const Descriptor& d, const std::string& data) {
  MemoryBlobReader reader(data);
  store.put_blob(d, reader);
}

std::string pull(Store& store, const Descriptor& d) {
  auto reader = store.open_blob(d);
  return read_all(*reader, 1ull << 32);
}

RegistryOptions fast_options() {
  RegistryOptions o;
  o.backoff_base = std::chrono::milliseconds(20);
  o.docker_config_dir = fs::path("/nonexistent-envbuild-docker-config");
  return o;
}

std::string descriptor_json(const Descriptor& d) {
  return nlohmann::json{{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}}
      .dump();
}

ManifestBytes manifest_for(const Descriptor& config, const std::vector<Descriptor>& layers) {
  std::string text = "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(media::kOciManifest) +
                     "\",\"config\":" + descriptor_json(config) + ",\"layers\":[";
  for (size_t i = 0; i < layers.size(); ++i) text += (i ? "," : "") + descriptor_json(layers[i]);
  text += "]}";
  return ManifestBytes{std::string(media::kOciManifest), text, Digest::sha256_of(text)};
}

TEST(RegistryStore, BlobsAndManifestsRoundTrip) {
  RegistryFixture registry;
  RegistryStore store({registry.host(), "team/env"}, fast_options());
  EXPECT_EQ(store.registry_repository(), registry.host() + "/team/env");
  EXPECT_EQ(store.base_url(), "http://" + registry.host());

  const std::string config = R"({"architecture":"amd64","os":"linux"})";
  const std::string layer = random_bytes(300 * 1024, 1);
  Descriptor cd = describe(media::kOciConfig, config);
  Descriptor ld = describe(media::kOciLayerGzip, layer);
  EXPECT_EQ(store.stat_blob(ld.digest), std::nullopt);
  push(store, cd, config);
  push(store, ld, layer);
  push(store, ld, layer);  // present: HEAD only
  EXPECT_EQ(store.stat_blob(ld.digest), ld.size);
  EXPECT_EQ(pull(store, ld), layer);
  EXPECT_EQ(pull(store, cd), config);

  Descriptor empty = describe(media::kOciEmpty, "");
  push(store, empty, "");
  EXPECT_EQ(store.stat_blob(empty.digest), 0);

  ManifestBytes m = manifest_for(cd, {ld});
  EXPECT_EQ(store.put_manifest(m, "v1"), m.digest);
  EXPECT_EQ(store.put_manifest(m, std::nullopt), m.digest);
  for (const std::string& ref : {std::string("v1"), m.digest.str()}) {
    ManifestBytes got = store.get_manifest(ref);
    EXPECT_EQ(got.bytes, m.bytes);
    EXPECT_EQ(got.digest, m.digest);
    EXPECT_EQ(got.media_type, media::kOciManifest);
  }
  EXPECT_EQ(store.find_manifest("nope"), std::nullopt);
  std::string message;
  EXPECT_EQ(kind_of([&] { store.get_manifest("nope"); }, &message), ErrorKind::NotFound);
  EXPECT_NE(message.find(registry.host() + "/team/env"), std::string::npos) << message;
  Descriptor missing = describe(media::kOciLayerGzip, "missing");
  EXPECT_EQ(kind_of([&] { store.open_blob(missing); }, &message), ErrorKind::NotFound);
  EXPECT_NE(message.find(missing.digest.str()), std::string::npos) << message;
  EXPECT_EQ(store.list_tags(), std::vector<std::string>{"v1"});

  // A descriptor that lies about the size or digest of what the registry has.
  Descriptor wrong = ld;
  wrong.size -= 1;
  EXPECT_EQ(kind_of([&] { pull(store, wrong); }), ErrorKind::BadInput);
  // Content that does not match its descriptor is refused and not stored.
  Descriptor lie = describe(media::kOciLayerGzip, "other bytes");
  EXPECT_EQ(kind_of([&] { push(store, lie, "not other bytes"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([&] { push(store, lie, std::string(lie.size, 'x')); }), ErrorKind::BadInput);
  EXPECT_EQ(store.stat_blob(lie.digest), std::nullopt);
  // A manifest whose bytes do not match its digest.
  ManifestBytes bad = m;
  bad.bytes += " ";
  EXPECT_EQ(kind_of([&] { store.put_manifest(bad, "v2"); }), ErrorKind::BadInput);
  EXPECT_EQ(kind_of([&] { store.get_manifest("bad tag!"); }), ErrorKind::BadInput);
}

TEST(RegistryStore, ChunkedUploadOfLargeBlob) {
  RegistryFixture registry;
  RegistryOptions options = fast_options();
  options.chunk_size = 5 * 1024 * 1024;
  options.monolithic_limit = 1024 * 1024;
  RegistryStore store({registry.host(), "big"}, options);
  const std::string data = random_bytes(11 * 1024 * 1024 + 123, 2);
  Descriptor d = describe(media::kOciLayerGzip, data);
  push(store, d, data);
  EXPECT_EQ(store.stat_blob(d.digest), d.size);
  EXPECT_EQ(pull(store, d), data);
  // Chunked content that does not hash to the descriptor is refused before
  // the registry commits it.
  std::string tampered = data;
  tampered[7 * 1024 * 1024] ^= 1;
  Descriptor other = describe(media::kOciLayerGzip, tampered);
  other.digest = Digest::sha256_of("something else");
  std::string message;
  EXPECT_EQ(kind_of([&] { push(store, other, tampered); }, &message), ErrorKind::BadInput);
  EXPECT_NE(message.find("push blob " + other.digest.str()), std::string::npos) << message;
  EXPECT_EQ(store.stat_blob(other.digest), std::nullopt);
  RegistryOptions tiny = options;
  tiny.chunk_size = 4 * 1024 * 1024;
  EXPECT_THROW(RegistryStore({registry.host(), "big"}, tiny), Error);
}

TEST(RegistryStore, TagListPagination) {
  RegistryFixture registry;
  RegistryOptions options = fast_options();
  options.tag_page_size = 2;
  RegistryStore store({registry.host(), "paged"}, options);
  const std::string config = "{}";
  Descriptor cd = describe(media::kOciConfig, config);
  push(store, cd, config);
  ManifestBytes m = manifest_for(cd, {});
  std::vector<std::string> want = {"a", "b", "c", "d", "e"};
  for (const std::string& tag : want) store.put_manifest(m, tag);
  // Five tags at two per page: only complete if the Link pages were followed
  // (docker-registry 2.8 does not keep them in order across pages).
  std::vector<std::string> got = store.list_tags();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  RegistryStore empty({registry.host(), "never-pushed"}, options);
  EXPECT_EQ(kind_of([&] { empty.list_tags(); }), ErrorKind::NotFound);
}

TEST(RegistryStore, CrossRepositoryMount) {
  RegistryFixture registry;
  RegistryStore a({registry.host(), "team/a"}, fast_options());
  RegistryStore b({registry.host(), "team/b"}, fast_options());
  const std::string data = random_bytes(100000, 3);
  Descriptor d = describe(media::kOciLayerGzip, data);
  push(a, d, data);
  EXPECT_FALSE(b.has_blob(d.digest));
  EXPECT_TRUE(b.mount_blob(d, "team/a"));
  EXPECT_EQ(b.stat_blob(d.digest), d.size);
  EXPECT_EQ(pull(b, d), data);
  Descriptor absent = describe(media::kOciLayerGzip, "absent");
  EXPECT_FALSE(b.mount_blob(absent, "team/a"));
  EXPECT_TRUE(b.mount_blob(d, "team/b"));  // same repository: already there
}

TEST(RegistryStore, BasicAuthFromDockerConfig) {
  RegistryFixture registry({RegistryAuth::Basic});
  RegistryOptions options = fast_options();
  options.docker_config_dir = registry.docker_config_dir();
  options.verbose = true;
  RegistryStore store({registry.host(), "secure/env"}, options);
  const std::string data = random_bytes(70000, 4);
  Descriptor d = describe(media::kOciLayerGzip, data);
  ::testing::internal::CaptureStderr();
  push(store, d, data);
  std::string pulled = pull(store, d);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(pulled, data);
  EXPECT_NE(log.find("PUT http://" + registry.host() + "/v2/secure/env/blobs/uploads/"),
            std::string::npos)
      << log;
  const std::string password = registry.options().password;
  const std::string encoded = base64_encode(registry.options().user + ":" + password);
  EXPECT_EQ(log.find(password), std::string::npos);
  EXPECT_EQ(log.find(encoded), std::string::npos);
  EXPECT_EQ(log.find("Authorization"), std::string::npos);

  // Wrong password: an Auth error that names repository and operation but
  // not the password.
  TempDir wrong;
  std::ofstream(wrong.path() / "config.json")
      << nlohmann::json{{"auths",
                         {{registry.host(), {{"auth", base64_encode("tester:wrong-pw-123")}}}}}}
             .dump();
  RegistryOptions wrong_options = fast_options();
  wrong_options.docker_config_dir = wrong.path();
  RegistryStore refused({registry.host(), "secure/env"}, wrong_options);
  std::string message;
  EXPECT_EQ(kind_of([&] { push(refused, describe(media::kOciConfig, "x"), "x"); }, &message),
            ErrorKind::Auth);
  EXPECT_NE(message.find(registry.host() + "/secure/env"), std::string::npos) << message;
  EXPECT_NE(message.find("stat blob"), std::string::npos) << message;
  EXPECT_EQ(message.find("wrong-pw-123"), std::string::npos) << message;
  EXPECT_EQ(message.find(base64_encode("tester:wrong-pw-123")), std::string::npos) << message;

  RegistryStore anonymous({registry.host(), "secure/env"}, fast_options());
  EXPECT_EQ(kind_of([&] { anonymous.stat_blob(d.digest); }, &message), ErrorKind::Auth);
  EXPECT_NE(message.find("no credentials"), std::string::npos) << message;
}

TEST(RegistryStore, TokenAuthCachesTokensAndMounts) {
  RegistryFixture registry({RegistryAuth::Token});
  RegistryOptions options = fast_options();
  options.docker_config_dir = registry.docker_config_dir();
  RegistryStore a({registry.host(), "tok/a"}, options);
  RegistryStore b({registry.host(), "tok/b"}, options);
  const std::string config = R"({"os":"linux"})";
  Descriptor cd = describe(media::kOciConfig, config);
  push(a, cd, config);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.stat_blob(cd.digest), cd.size);
  EXPECT_EQ(pull(a, cd), config);
  ManifestBytes m = manifest_for(cd, {});
  a.put_manifest(m, "t1");
  EXPECT_EQ(a.get_manifest("t1").digest, m.digest);
  EXPECT_EQ(a.list_tags(), std::vector<std::string>{"t1"});
  // One token per scope set: pull, and pull+push.
  EXPECT_LE(registry.token_server()->tokens_issued(), 2);
  EXPECT_TRUE(b.mount_blob(cd, "tok/a"));
  EXPECT_EQ(pull(b, cd), config);

  RegistryStore anonymous({registry.host(), "tok/a"}, fast_options());
  EXPECT_EQ(kind_of([&] { anonymous.stat_blob(cd.digest); }), ErrorKind::Auth);
}

TEST(RegistryStore, ConcurrentCallsOnOneStore) {
  RegistryFixture registry({RegistryAuth::Token});
  RegistryOptions options = fast_options();
  options.docker_config_dir = registry.docker_config_dir();
  RegistryStore store({registry.host(), "parallel"}, options);
  std::vector<std::string> blobs;
  for (int i = 0; i < 8; ++i) blobs.push_back(random_bytes(50000 + i * 1000, 10 + i));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 8; i += 4) {
        Descriptor d = describe(media::kOciLayerGzip, blobs[i]);
        push(store, d, blobs[i]);
        if (store.stat_blob(d.digest) == d.size && pull(store, d) == blobs[i]) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, 8);
}

TEST(RegistryStore, RetriesThroughFaults) {
  RegistryFixture registry;
  FaultPlan plan;
  plan.reset_mid_blob = 2;
  plan.http_500 = 2;
  plan.http_429 = 1;
  FaultProxy proxy(registry.host(), plan);
  RegistryOptions options = fast_options();
  options.chunk_size = 5 * 1024 * 1024;
  options.monolithic_limit = 1024 * 1024;
  RegistryStore store({proxy.host(), "flaky"}, options);
  const std::string small = random_bytes(200 * 1024, 5);
  const std::string large = random_bytes(6 * 1024 * 1024, 6);
  Descriptor sd = describe(media::kOciLayerGzip, small);
  Descriptor ld = describe(media::kOciLayerGzip, large);
  push(store, sd, small);
  push(store, ld, large);
  EXPECT_EQ(pull(store, sd), small);
  EXPECT_EQ(pull(store, ld), large);
  EXPECT_EQ(proxy.faults_injected(), 5);
  // Read straight from the registry: the same bytes under the same digest.
  RegistryStore direct({registry.host(), "flaky"}, fast_options());
  EXPECT_EQ(direct.stat_blob(ld.digest), ld.size);
  EXPECT_EQ(pull(direct, sd), small);
}

TEST(RegistryStore, StalledRequestIsCutAndRetried) {
  RegistryFixture registry;
  FaultPlan plan;
  plan.stall = 1;
  plan.stall_for = std::chrono::milliseconds(4000);
  FaultProxy proxy(registry.host(), plan);
  RegistryOptions options = fast_options();
  options.request_timeout = std::chrono::milliseconds(1000);
  RegistryStore store({proxy.host(), "stall"}, options);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(store.stat_blob(Digest::sha256_of("x")), std::nullopt);
  EXPECT_EQ(proxy.faults_injected(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3900));
}

TEST(RegistryStore, GivesUpAfterMaxAttempts) {
  RegistryFixture registry;
  FaultPlan plan;
  plan.http_500 = 10;
  FaultProxy proxy(registry.host(), plan);
  RegistryOptions options = fast_options();
  options.max_attempts = 3;
  RegistryStore store({proxy.host(), "down"}, options);
  std::string message;
  EXPECT_EQ(kind_of([&] { store.stat_blob(Digest::sha256_of("x")); }, &message),
            ErrorKind::Registry);
  EXPECT_NE(message.find("stat blob"), std::string::npos) << message;
  EXPECT_EQ(proxy.faults_injected(), 3);
}

TEST(RegistryStore, SkopeoReadsWhatWePushed) {
  RegistryFixture registry;
  RegistryStore store({registry.host(), "skopeo/img"}, fast_options());
  TempDir dir;
  fs::create_directories(dir.path() / "root/etc");
  std::ofstream(dir.path() / "root/etc/hello.txt") << "hello from envbuild\n";
  ProcessResult tar = run_process({"tar", "-C", (dir.path() / "root").string(), "-cf",
                                   (dir.path() / "layer.tar").string(), "etc"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  ProcessResult gz = run_process({"gzip", "-nk", (dir.path() / "layer.tar").string()});
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string tar_bytes = slurp(dir.path() / "layer.tar");
  const std::string layer = slurp(dir.path() / "layer.tar.gz");
  nlohmann::json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", nlohmann::json::object()},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest::sha256_of(tar_bytes).str()}}}}};
  const std::string config_bytes = config.dump();
  Descriptor cd = describe(media::kOciConfig, config_bytes);
  Descriptor ld = describe(media::kOciLayerGzip, layer);
  push(store, cd, config_bytes);
  push(store, ld, layer);
  ManifestBytes m = manifest_for(cd, {ld});
  store.put_manifest(m, "latest");
  ProcessResult r = run_process({"skopeo", "inspect", "--tls-verify=false",
                                 "docker://" + registry.host() + "/skopeo/img:latest"},
                                {}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["Digest"], m.digest.str());
  EXPECT_EQ(info["Architecture"], "amd64");
  ASSERT_EQ(info["Layers"].size(), 1u);
  EXPECT_EQ(info["Layers"][0], ld.digest.str());
}

}  // namespace
