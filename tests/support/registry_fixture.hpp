#pragma once
// A real docker-registry (CNCF distribution 2.8) for integration tests, on a
// free 127.0.0.1 port, with storage and config in its own temp dir; stopped
// and removed in the destructor. Never uses the system service on :5000.
#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/token_server.hpp"

namespace envbuild::testing {

enum class RegistryAuth { None, Basic, Token };

struct RegistryFixtureOptions {
  RegistryAuth auth = RegistryAuth::None;
  std::string user = "tester";
  std::string password = "s3cret-pass";
  int token_expires_in = 300;  // seconds; Token mode only
};

class RegistryFixture {
 public:
  // Throws envbuild::Error(Internal) with the registry's log tail if it
  // doesn't answer GET /v2/ within 10 s.
  explicit RegistryFixture(RegistryFixtureOptions options = {});
  ~RegistryFixture();
  RegistryFixture(const RegistryFixture&) = delete;
  RegistryFixture& operator=(const RegistryFixture&) = delete;

  std::string host() const;  // "127.0.0.1:PORT"
  const RegistryFixtureOptions& options() const { return options_; }
  // Writes a Docker config dir (config.json with "auths": {host: {auth:
  // base64(user:password)}}) and returns its path, for DOCKER_CONFIG.
  std::filesystem::path docker_config_dir() const;

  // Token mode: the token server (for counting token requests); else null.
  const TokenServer* token_server() const { return token_server_.get(); }
  // Where blobs and manifests live (registry filesystem layout).
  std::filesystem::path storage_dir() const;
  // Last `max_bytes` of the registry's log, for failure messages.
  std::string log_tail(size_t max_bytes = 4000) const;

 private:
  void write_config(int port) const;
  bool start_once(int port);

  RegistryFixtureOptions options_;
  TempDir dir_;
  std::unique_ptr<TokenServer> token_server_;
  int port_ = 0;
  ChildProcess registry_;
};

}  // namespace envbuild::testing
