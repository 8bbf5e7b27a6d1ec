#pragma once
// Registry credentials the way the Docker CLI finds them: config.json in
// $DOCKER_CONFIG (default ~/.docker) with
//   "auths":       {KEY: {"auth": base64("user:pass")} | {"username","password"}
//                        | {"identitytoken"}}, KEY a bare host or a URL
//                        such as "https://index.docker.io/v1/"
//   "credHelpers": {HOST: NAME}   run docker-credential-NAME for HOST
//   "credsStore":  NAME           run docker-credential-NAME for every host
// A helper is run as `docker-credential-NAME get` (execvp, no shell) with the
// server URL on stdin; it prints {"ServerURL","Username","Secret"}, where
// Username "<token>" means Secret is an identity token.
//
// Secrets never appear in any message this code produces.
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace envbuild::registry {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // an OAuth2 refresh token (docker login to some registries)
};

// "Basic base64(user:password)" for an Authorization header.
std::string basic_authorization(const Credentials& credentials);

// RFC 4648 base64 with padding; nullopt on invalid input.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// $DOCKER_CONFIG if set, else $HOME/.docker.
std::filesystem::path default_docker_config_dir();

// "https://index.docker.io/v1/" -> "index.docker.io"; "host:5000" stays.
std::string normalize_auth_key(std::string_view key);

// The server URL Docker uses for `host` (as written in a reference) when
// talking to credential helpers: "https://index.docker.io/v1/" for Docker
// Hub, the host itself otherwise.
std::string credential_server_url(std::string_view host);

// Runs docker-credential-`helper` get for `server_url`. nullopt when the
// helper reports that it has no credentials for it. Throws Error(Auth)
// naming the helper (never its output) when it is missing, fails, times out
// or prints something that is not the expected JSON.
std::optional<Credentials> run_credential_helper(
    const std::string& helper, const std::string& server_url,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

class DockerConfig {
 public:
  // Reads DIR/config.json; a missing file means no credentials. Throws
  // Error(BadInput) naming the file on malformed JSON or a malformed entry.
  explicit DockerConfig(std::filesystem::path config_dir);
  // Parses config text (for tests); `file` is used in messages only.
  DockerConfig(std::string_view json_text, std::filesystem::path file);

  // Credentials for `host` (as written in a reference: "docker.io",
  // "ghcr.io", "127.0.0.1:5000"): credHelpers, then auths, then credsStore.
  std::optional<Credentials> lookup(std::string_view host) const;

  const std::filesystem::path& file() const { return file_; }

 private:
  void load(std::string_view text);
  std::optional<Credentials> from_auths(std::string_view host) const;

  std::filesystem::path file_;
  nlohmann::json auths_ = nlohmann::json::object();
  nlohmann::json cred_helpers_ = nlohmann::json::object();
  std::string creds_store_;
};

}  // namespace envbuild::registry
