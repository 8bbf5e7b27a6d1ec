// The test fixtures themselves, checked against real clients (curl, skopeo):
// if these pass, a failing registry-client test points at the client.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "registry/error.hpp"
#include "tests/support/base64.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/free_port.hpp"
#include "tests/support/http_head.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild::testing;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

namespace {

// curl's status code for GET url, with extra arguments.
std::string curl_status(const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  return run_process(argv, {}, seconds(10)).out;
}

// An OCI layout at dir/img with tag "t": one layer holding 200 KB of random
// bytes, so the layer blob stays over the proxy's 64 KiB blob threshold.
fs::path make_image(const fs::path& dir) {
  const fs::path layout = dir / "img";
  const fs::path bundle = dir / "bundle";
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"umoci", "init", "--layout", layout.string()},
           {"umoci", "new", "--image", layout.string() + ":t"},
           {"umoci", "unpack", "--rootless", "--image", layout.string() + ":t", bundle.string()}}) {
    ProcessResult r = run_process(argv, {}, seconds(30));
    if (r.exit_code != 0) throw std::runtime_error(argv[1] + ": " + r.err);
  }
  std::mt19937_64 random(42);
  std::string data(200000, '\0');
  for (char& c : data) c = static_cast<char>(random());
  std::ofstream(bundle / "rootfs" / "blob.bin", std::ios::binary) << data;
  ProcessResult r = run_process(
      {"umoci", "repack", "--image", layout.string() + ":t", bundle.string()}, {}, seconds(30));
  if (r.exit_code != 0) throw std::runtime_error("umoci repack: " + r.err);
  return layout;
}

ProcessResult skopeo_copy_to(const fs::path& layout, const std::string& destination,
                             std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"skopeo", "copy", "--dest-tls-verify=false"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("oci:" + layout.string() + ":t");
  argv.push_back("docker://" + destination);
  return run_process(argv, {}, seconds(60));
}

ProcessResult skopeo_inspect(const std::string& reference, std::vector<std::string> extra) {
  std::vector<std::string> argv = {"skopeo", "inspect", "--raw", "--tls-verify=false"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("docker://" + reference);
  return run_process(argv, {}, seconds(30));
}

// Digest of the first layer of the pushed image, read back with skopeo.
std::string first_layer_digest(const std::string& reference, std::vector<std::string> extra = {}) {
  ProcessResult r = skopeo_inspect(reference, extra);
  if (r.exit_code != 0) throw std::runtime_error("skopeo inspect: " + r.err);
  return nlohmann::json::parse(r.out).at("layers").at(0).at("digest").get<std::string>();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST(FixtureHelpersTest, Base64RoundTripsAndRejectsGarbage) {
  EXPECT_EQ(base64_encode("tester:s3cret-pass"), "dGVzdGVyOnMzY3JldC1wYXNz");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64_decode("YWI="), "ab");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_EQ(base64_decode("YWJj"), "abc");
  EXPECT_EQ(base64_decode("YW=j"), std::nullopt);
  EXPECT_EQ(base64_decode("YWJ"), std::nullopt);
  EXPECT_EQ(base64_decode("Y*Jj"), std::nullopt);
}

TEST(FixtureHelpersTest, HttpHeadParsesAndRewrites) {
  auto head = parse_http_head(
      "PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nHost: h:1\r\ncontent-length: 70000\r\n"
      "Connection: keep-alive\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->method(), "PATCH");
  EXPECT_EQ(head->target(), "/v2/a/blobs/uploads/x");
  EXPECT_EQ(head->content_length(), 70000u);
  EXPECT_FALSE(head->chunked());
  head->set_field("Connection", "close");
  EXPECT_EQ(head->serialize(),
            "PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nHost: h:1\r\ncontent-length: 70000\r\n"
            "Connection: close\r\n\r\n");
  auto response = parse_http_head("HTTP/1.1 429 Too Many\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status(), 429);
  EXPECT_TRUE(response->chunked());
  EXPECT_FALSE(parse_http_head("GET / HTTP/1.1\r\nno colon\r\n\r\n"));
  EXPECT_FALSE(parse_http_head("GET / HTTP/1.1\r\nHost: x\r\n"));  // incomplete
}

TEST(ProcessTest, CapturesOutputExitCodeAndEnvironment) {
  ProcessResult r = run_process({"sh", "-c", "echo out-$FIXTURE_VAR; echo err >&2; exit 3"},
                                {{"FIXTURE_VAR", "merged"}}, seconds(10));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out-merged\n");
  EXPECT_EQ(r.err, "err\n");
  // The rest of the environment is inherited.
  EXPECT_EQ(run_process({"sh", "-c", "echo $PATH"}).out, std::string(std::getenv("PATH")) + "\n");
}

TEST(ProcessTest, LargeOutputOnBothPipesDoesNotDeadlock) {
  ProcessResult r = run_process(
      {"sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"}, {}, seconds(10));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 300000u);
  EXPECT_EQ(r.err.size(), 300000u);
}

TEST(ProcessTest, TimeoutKillsTheChild) {
  const auto start = Clock::now();
  ProcessResult r = run_process({"sleep", "30"}, {}, seconds(1));
  EXPECT_LT(Clock::now() - start, seconds(5));
  EXPECT_EQ(r.exit_code, 124);
  EXPECT_NE(r.err.find("killed after 1 s"), std::string::npos) << r.err;
}

TEST(ProcessTest, MissingProgramThrows) {
  try {
    run_process({"/nonexistent/envbuild-no-such-program"});
    FAIL() << "expected an exception";
  } catch (const envbuild::Error& e) {
    EXPECT_EQ(e.kind(), envbuild::ErrorKind::Internal);
    EXPECT_NE(std::string(e.what()).find("envbuild-no-such-program"), std::string::npos);
  }
}

TEST(ProcessTest, SpawnedChildIsTerminated) {
  TempDir dir("fixture-test");
  ChildProcess child =
      spawn_process({"sh", "-c", "echo started; exec sleep 30"}, {}, dir.path() / "log");
  EXPECT_TRUE(child.running());
  child.terminate(milliseconds(2000));
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.exit_code(), 128 + SIGTERM);
}

TEST(RegistryFixtureTest, NoAuthAnswersAndStopsCleanly) {
  std::string host;
  fs::path storage;
  {
    RegistryFixture registry;
    host = registry.host();
    storage = registry.storage_dir();
    EXPECT_EQ(host.rfind("127.0.0.1:", 0), 0u);
    EXPECT_NE(host, "127.0.0.1:5000");
    EXPECT_EQ(curl_status("http://" + host + "/v2/"), "200");
    EXPECT_TRUE(fs::exists(storage));
  }
  // Destructor: the process is gone and its files removed.
  EXPECT_EQ(http_get_status(host, "/v2/", milliseconds(500)), 0);
  EXPECT_FALSE(fs::exists(storage));
}

TEST(RegistryFixtureTest, TwoRegistriesGetDifferentPorts) {
  RegistryFixture a;
  RegistryFixture b;
  EXPECT_NE(a.host(), b.host());
  EXPECT_EQ(curl_status("http://" + b.host() + "/v2/"), "200");
}

TEST(RegistryFixtureTest, BasicAuthAcceptsOnlyTheRightCredentials) {
  RegistryFixture registry({.auth = RegistryAuth::Basic});
  const std::string url = "http://" + registry.host() + "/v2/";
  EXPECT_EQ(curl_status(url), "401");
  EXPECT_EQ(curl_status(url, {"-u", "tester:s3cret-pass"}), "200");
  EXPECT_EQ(curl_status(url, {"-u", "tester:wrong"}), "401");

  const std::string reference = registry.host() + "/x/y:latest";
  ProcessResult good = skopeo_inspect(reference, {"--creds", "tester:s3cret-pass"});
  EXPECT_NE(good.exit_code, 0);
  EXPECT_NE(lower(good.err).find("manifest unknown"), std::string::npos) << good.err;

  ProcessResult bad = skopeo_inspect(reference, {"--creds", "tester:wrong"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(lower(bad.err).find("manifest unknown"), std::string::npos) << bad.err;
  EXPECT_NE(lower(bad.err).find("unauthorized"), std::string::npos) << bad.err;
}

TEST(RegistryFixtureTest, DockerConfigDirHoldsWorkingCredentials) {
  RegistryFixture registry({.auth = RegistryAuth::Basic});
  fs::path config = registry.docker_config_dir() / "config.json";
  auto json = nlohmann::json::parse(std::ifstream(config));
  EXPECT_EQ(json["auths"][registry.host()]["auth"], "dGVzdGVyOnMzY3JldC1wYXNz");
  // skopeo reads the Docker format as an auth file.
  ProcessResult r =
      skopeo_inspect(registry.host() + "/x/y:latest", {"--authfile", config.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(lower(r.err).find("manifest unknown"), std::string::npos) << r.err;
}

TEST(RegistryFixtureTest, TokenAuthPushWithSkopeo) {
  TempDir dir("fixture-test");
  fs::path image = make_image(dir.path());
  RegistryFixture registry({.auth = RegistryAuth::Token});
  ASSERT_NE(registry.token_server(), nullptr);
  EXPECT_EQ(curl_status("http://" + registry.host() + "/v2/"), "401");

  ProcessResult push = skopeo_copy_to(image, registry.host() + "/team/app:v1",
                                      {"--dest-creds", "tester:s3cret-pass"});
  ASSERT_EQ(push.exit_code, 0) << push.err << "\nregistry log: " << registry.log_tail();
  EXPECT_GT(registry.token_server()->tokens_issued(), 0);
  // The image is really there: read it back through token auth too.
  EXPECT_EQ(first_layer_digest(registry.host() + "/team/app:v1", {"--creds", "tester:s3cret-pass"})
                .rfind("sha256:", 0),
            0u);
}

TEST(RegistryFixtureTest, TokenServerRefusesWrongCredentialsAndGrantsScopes) {
  RegistryFixture registry({.auth = RegistryAuth::Token});
  const TokenServer& tokens = *registry.token_server();
  const std::string url = tokens.realm() + "?service=envbuild-test&scope=repository:a/b:pull,push";
  EXPECT_EQ(curl_status(url), "401");
  EXPECT_EQ(curl_status(url, {"-u", "tester:wrong"}), "401");
  EXPECT_EQ(tokens.tokens_issued(), 0);

  ProcessResult r = run_process({"curl", "-sf", "-u", "tester:s3cret-pass", url}, {}, seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto body = nlohmann::json::parse(r.out);
  EXPECT_EQ(body["expires_in"], 300);
  EXPECT_EQ(body["token"], body["access_token"]);
  EXPECT_EQ(tokens.tokens_issued(), 1);
  EXPECT_EQ(tokens.requests_served(), 3);

  // The registry accepts the token for the granted repository...
  const std::string bearer = "Authorization: Bearer " + body["token"].get<std::string>();
  EXPECT_EQ(curl_status("http://" + registry.host() + "/v2/", {"-H", bearer}), "200");
  EXPECT_EQ(curl_status("http://" + registry.host() + "/v2/a/b/tags/list", {"-H", bearer}),
            "404");  // authorized; the repository just doesn't exist
  // ...and not for another one.
  EXPECT_EQ(curl_status("http://" + registry.host() + "/v2/other/repo/tags/list", {"-H", bearer}),
            "401");
}

TEST(FaultProxyTest, ForwardsTransparentlyWithoutFaults) {
  RegistryFixture registry;
  FaultProxy proxy(registry.host(), {});
  EXPECT_NE(proxy.host(), registry.host());
  EXPECT_EQ(curl_status("http://" + proxy.host() + "/v2/"), "200");
  EXPECT_EQ(curl_status("http://" + proxy.host() + "/v2/x/y/tags/list"), "404");
  EXPECT_EQ(proxy.requests_seen(), 2);
  EXPECT_EQ(proxy.faults_injected(), 0);
}

TEST(FaultProxyTest, AnswersErrorsItselfThenForwards) {
  RegistryFixture registry;
  FaultProxy proxy(registry.host(), {.http_500 = 1, .http_429 = 1});
  const std::string url = "http://" + proxy.host() + "/v2/x/y/tags/list";
  // The version check is never faulted.
  EXPECT_EQ(curl_status("http://" + proxy.host() + "/v2/"), "200");
  EXPECT_EQ(curl_status(url), "500");
  ProcessResult r = run_process({"curl", "-s", "-D", "-", "-o", "/dev/null", url}, {}, seconds(10));
  EXPECT_EQ(r.out.rfind("HTTP/1.1 429", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Retry-After: 1"), std::string::npos) << r.out;
  EXPECT_EQ(curl_status(url), "404");
  EXPECT_EQ(proxy.faults_injected(), 2);
  EXPECT_EQ(proxy.faults_pending(), 0);
}

TEST(FaultProxyTest, StallHoldsOneRequest) {
  RegistryFixture registry;
  FaultProxy proxy(registry.host(), {.stall = 1, .stall_for = milliseconds(800)});
  const std::string url = "http://" + proxy.host() + "/v2/x/y/tags/list";
  auto start = Clock::now();
  EXPECT_EQ(curl_status(url), "404");
  EXPECT_GE(Clock::now() - start, milliseconds(800));
  start = Clock::now();
  EXPECT_EQ(curl_status(url), "404");
  EXPECT_LT(Clock::now() - start, milliseconds(800));
  EXPECT_EQ(proxy.faults_injected(), 1);
}

// skopeo waits out 429 + Retry-After by itself; it gives up on a 500 even
// with --retry-times, so 500s are checked with curl above.
TEST(FaultProxyTest, SkopeoPushWaitsOutTooManyRequests) {
  TempDir dir("fixture-test");
  fs::path image = make_image(dir.path());
  RegistryFixture registry;
  FaultProxy proxy(registry.host(), {.http_429 = 2});
  ProcessResult push = skopeo_copy_to(image, proxy.host() + "/team/app:v1");
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(proxy.faults_injected(), 2);
  EXPECT_GT(proxy.requests_seen(), 2);
  // Pushed through the proxy, readable directly from the registry.
  EXPECT_EQ(first_layer_digest(registry.host() + "/team/app:v1").rfind("sha256:", 0), 0u);
}

TEST(FaultProxyTest, ResetCutsABlobDownloadOnce) {
  TempDir dir("fixture-test");
  fs::path image = make_image(dir.path());
  RegistryFixture registry;
  ASSERT_EQ(skopeo_copy_to(image, registry.host() + "/team/app:v1").exit_code, 0);
  const std::string digest = first_layer_digest(registry.host() + "/team/app:v1");

  FaultProxy proxy(registry.host(), {.reset_mid_blob = 1});
  const std::string url = "http://" + proxy.host() + "/v2/team/app/blobs/" + digest;
  const fs::path out = dir.path() / "blob";
  ProcessResult cut = run_process({"curl", "-s", "-o", out.string(), url}, {}, seconds(10));
  EXPECT_NE(cut.exit_code, 0);  // 56: connection reset, or 18: partial file
  EXPECT_EQ(fs::file_size(out), 64u * 1024u);
  EXPECT_EQ(proxy.faults_injected(), 1);

  ProcessResult whole = run_process({"curl", "-sf", "-o", out.string(), url}, {}, seconds(10));
  EXPECT_EQ(whole.exit_code, 0) << whole.err;
  ProcessResult sum = run_process({"sha256sum", out.string()}, {}, seconds(10));
  EXPECT_EQ("sha256:" + sum.out.substr(0, 64), digest);
}

TEST(FaultProxyTest, ResetCutsABlobUploadOnce) {
  TempDir dir("fixture-test");
  fs::path image = make_image(dir.path());
  RegistryFixture registry;
  FaultProxy proxy(registry.host(), {.reset_mid_blob = 1});
  ProcessResult first = skopeo_copy_to(image, proxy.host() + "/team/app:v1");
  EXPECT_NE(first.exit_code, 0);
  EXPECT_EQ(proxy.faults_injected(), 1);
  ProcessResult second = skopeo_copy_to(image, proxy.host() + "/team/app:v1");
  EXPECT_EQ(second.exit_code, 0) << second.err;
}
