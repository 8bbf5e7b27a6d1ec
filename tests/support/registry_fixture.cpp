#include "tests/support/registry_fixture.hpp"

#include <openssl/rand.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "registry/atomic_file.hpp"
#include "registry/error.hpp"
#include "tests/support/base64.hpp"
#include "tests/support/free_port.hpp"
#include "tests/support/http_probe.hpp"

namespace envbuild::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";
constexpr const char* kService = "envbuild-test";
constexpr const char* kIssuer = "envbuild-test-issuer";
constexpr std::chrono::seconds kStartTimeout{10};
constexpr int kBindAttempts = 5;

std::string random_secret() {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) throw Error(ErrorKind::Internal, "RAND_bytes failed");
  return base64_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string one_line(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += " | ";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

}  // namespace

RegistryFixture::RegistryFixture(RegistryFixtureOptions options)
    : options_(std::move(options)), dir_("envbuild-registry") {
  if (options_.auth == RegistryAuth::Basic) {
    // distribution accepts only bcrypt entries.
    ProcessResult r = run_process({"htpasswd", "-Bbn", options_.user, options_.password}, {},
                                  std::chrono::seconds(30));
    if (r.exit_code != 0 || r.out.find(options_.user + ":$2") != 0) {
      throw Error(ErrorKind::Internal, "htpasswd -Bbn failed (exit " + std::to_string(r.exit_code) +
                                           "): " + one_line(r.err));
    }
    registry::write_file_atomic(dir_.path() / "htpasswd", r.out);
  } else if (options_.auth == RegistryAuth::Token) {
    token_server_ = std::make_unique<TokenServer>(TokenServerOptions{
        options_.user, options_.password, kService, kIssuer, options_.token_expires_in});
    registry::write_file_atomic(dir_.path() / "token-cert.pem", token_server_->certificate_pem());
  }
  fs::create_directories(storage_dir());

  for (int attempt = 1;; ++attempt) {
    int port = pick_free_port();
    write_config(port);
    if (start_once(port)) {
      port_ = port;
      return;
    }
    // Another process took the port between our probe and the registry's bind.
    if (attempt == kBindAttempts) {
      throw Error(ErrorKind::Internal, "docker-registry could not bind a free port after " +
                                           std::to_string(kBindAttempts) +
                                           " attempts; log: " + one_line(log_tail()));
    }
  }
}

RegistryFixture::~RegistryFixture() { registry_.terminate(); }

std::string RegistryFixture::host() const { return "127.0.0.1:" + std::to_string(port_); }

fs::path RegistryFixture::storage_dir() const { return dir_.path() / "storage"; }

void RegistryFixture::write_config(int port) const {
  // JSON is valid YAML, and nlohmann quotes paths and secrets correctly.
  nlohmann::json config = {
      {"version", "0.1"},
      {"log", {{"level", "error"}}},
      {"storage",
       {{"filesystem", {{"rootdirectory", storage_dir().string()}}},
        {"delete", {{"enabled", true}}}}},
      {"http", {{"addr", "127.0.0.1:" + std::to_string(port)}, {"secret", random_secret()}}},
  };
  if (options_.auth == RegistryAuth::Basic) {
    config["auth"] = {
        {"htpasswd", {{"realm", "envbuild-test"}, {"path", (dir_.path() / "htpasswd").string()}}}};
  } else if (options_.auth == RegistryAuth::Token) {
    config["auth"] = {{"token",
                       {{"realm", token_server_->realm()},
                        {"service", kService},
                        {"issuer", kIssuer},
                        {"rootcertbundle", (dir_.path() / "token-cert.pem").string()}}}};
  }
  registry::write_file_atomic(dir_.path() / "config.yml", config.dump(2) + "\n");
}

bool RegistryFixture::start_once(int port) {
  const fs::path log = dir_.path() / "registry.log";
  registry::write_file_atomic(log, "");
  registry_ =
      spawn_process({kRegistryBinary, "serve", (dir_.path() / "config.yml").string()}, {}, log);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    if (!registry_.running()) {
      if (log_tail().find("address already in use") != std::string::npos) return false;
      throw Error(ErrorKind::Internal, "docker-registry exited with status " +
                                           std::to_string(registry_.exit_code()) +
                                           " at start; log: " + one_line(log_tail()));
    }
    int status = http_get_status(address, "/v2/", std::chrono::milliseconds(1000));
    if (status == 200 || status == 401) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  registry_.terminate();
  throw Error(ErrorKind::Internal, "docker-registry did not answer GET /v2/ on " + address +
                                       " within " + std::to_string(kStartTimeout.count()) +
                                       " s; log: " + one_line(log_tail()));
}

std::string RegistryFixture::log_tail(size_t max_bytes) const {
  std::string text = read_file(dir_.path() / "registry.log");
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

fs::path RegistryFixture::docker_config_dir() const {
  const fs::path dir = dir_.path() / "docker-config";
  fs::create_directories(dir);
  nlohmann::json config = {
      {"auths", {{host(), {{"auth", base64_encode(options_.user + ":" + options_.password)}}}}}};
  registry::write_file_atomic(dir / "config.json", config.dump(2) + "\n");
  return dir;
}

}  // namespace envbuild::testing
