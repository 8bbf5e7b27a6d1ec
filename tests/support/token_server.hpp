#pragma once
// A minimal Docker token server (the "realm" of registry token auth) on a
// free loopback port, serving GET /token?service=S&scope=repository:N:A...
// to clients that present the right Basic credentials. It grants every
// requested scope in an ES256 JWT that docker-registry accepts when its
// `rootcertbundle` is certificate_pem().
#include <atomic>
#include <chrono>
#include <string>

#include "tests/support/http_head.hpp"
#include "tests/support/jwt_signer.hpp"
#include "tests/support/loopback_server.hpp"

namespace envbuild::testing {

struct TokenServerOptions {
  std::string user = "tester";
  std::string password = "s3cret-pass";
  std::string service = "envbuild-test";
  std::string issuer = "envbuild-test-issuer";
  int expires_in = 300;  // seconds, also the JWT lifetime
};

class TokenServer {
 public:
  explicit TokenServer(TokenServerOptions options);
  ~TokenServer();

  // "http://127.0.0.1:PORT/token", the realm for the registry config.
  std::string realm() const;
  const TokenServerOptions& options() const { return options_; }
  const std::string& certificate_pem() const { return signer_.certificate_pem(); }
  // Every request answered, including refusals.
  int requests_served() const { return requests_served_; }
  // Requests answered with a token.
  int tokens_issued() const { return tokens_issued_; }

 private:
  void handle(UniqueFd client, const std::atomic<bool>& stopping);
  struct Reply {
    int status;
    std::string body;
    std::string extra_fields;  // "Name: value\r\n" lines
  };
  Reply answer(const HttpHead& request);

  TokenServerOptions options_;
  JwtSigner signer_;
  std::atomic<int> requests_served_{0};
  std::atomic<int> tokens_issued_{0};
  LoopbackServer server_;  // last: stops before the rest is destroyed
};

}  // namespace envbuild::testing
