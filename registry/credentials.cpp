#include "registry/credentials.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "registry/error.hpp"
#include "registry/unique_fd.hpp"

extern char** environ;

namespace envbuild::registry {
namespace {

constexpr uint64_t kMaxConfigBytes = 4 * 1024 * 1024;
constexpr size_t kMaxHelperOutput = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Docker Hub is known under several names; config files use any of them.
std::vector<std::string> host_aliases(std::string_view host) {
  std::string h = lower(host);
  if (h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io") {
    return {"index.docker.io", "docker.io", "registry-1.docker.io"};
  }
  return {h};
}

bool matches_host(std::string_view key, std::string_view host) {
  std::string k = normalize_auth_key(key);
  for (const std::string& alias : host_aliases(host)) {
    if (k == alias) return true;
  }
  return false;
}

[[noreturn]] void helper_error(const std::string& helper, const std::string& server_url,
                               const std::string& why) {
  throw Error(ErrorKind::Auth,
              "credential helper docker-credential-" + helper + " for " + server_url + ": " + why);
}

// Line and column of a byte offset, for JSON error messages that must not
// quote the (secret-bearing) text itself.
std::string position_of(std::string_view text, size_t byte) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > kMaxConfigBytes) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    bool ok = std::isalnum(c) || c == '+' || c == '/' || (c == '=' && i + 2 >= text.size());
    if (!ok) return std::nullopt;
  }
  if (text.empty()) return std::string();
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes.
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=' && text.back() != '=') return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string basic_authorization(const Credentials& credentials) {
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

std::filesystem::path default_docker_config_dir() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : "/") / ".docker";
}

std::string normalize_auth_key(std::string_view key) {
  std::string k = lower(key);
  for (std::string_view scheme : {"https://", "http://"}) {
    if (k.rfind(scheme, 0) == 0) {
      k.erase(0, scheme.size());
      break;
    }
  }
  return k.substr(0, k.find('/'));
}

std::string credential_server_url(std::string_view host) {
  if (host_aliases(host).size() > 1) return "https://index.docker.io/v1/";
  return std::string(host);
}

std::optional<Credentials> run_credential_helper(const std::string& helper,
                                                 const std::string& server_url,
                                                 std::chrono::milliseconds timeout) {
  if (helper.empty() || helper.size() > 128 ||
      !std::all_of(helper.begin(), helper.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      })) {
    throw Error(ErrorKind::BadInput, "invalid credential helper name '" + helper + "'");
  }
  const std::string program = "docker-credential-" + helper;

  // stdin is a socket so a helper that exits early cannot SIGPIPE us
  // (send with MSG_NOSIGNAL); stdout a pipe; stderr discarded.
  int in_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    helper_error(helper, server_url, std::string("socketpair: ") + std::strerror(errno));
  }
  UniqueFd in_parent(in_pair[0]), in_child(in_pair[1]);
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    helper_error(helper, server_url, std::string("pipe: ") + std::strerror(errno));
  }
  UniqueFd out_parent(out_pipe[0]), out_child(out_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_child.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string arg0 = program, arg1 = "get";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  in_child.reset();
  out_child.reset();
  if (rc != 0) {
    helper_error(helper, server_url,
                 rc == ENOENT ? program + " not found in PATH" : std::strerror(rc));
  }

  auto reap = [&](bool kill_first) {
    if (kill_first) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };

  const std::string input = server_url;
  if (::send(in_parent.get(), input.data(), input.size(), MSG_NOSIGNAL) < 0 && errno != EPIPE) {
    reap(true);
    helper_error(helper, server_url, std::string("cannot write stdin: ") + std::strerror(errno));
  }
  ::shutdown(in_parent.get(), SHUT_WR);

  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      reap(true);
      helper_error(helper, server_url, "timed out");
    }
    pollfd p{out_parent.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(out_parent.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
    if (out.size() > kMaxHelperOutput) {
      reap(true);
      helper_error(helper, server_url, "output larger than 64 KiB");
    }
  }
  int status = reap(false);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (lower(out).find("credentials not found") != std::string::npos) return std::nullopt;
    helper_error(helper, server_url,
                 WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                   : "killed by signal " + std::to_string(WTERMSIG(status)));
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("Secret") || !j["Secret"].is_string() ||
      (j.contains("Username") && !j["Username"].is_string())) {
    helper_error(helper, server_url, "output is not a JSON object with string Username and Secret");
  }
  Credentials c;
  std::string user = j.value("Username", "");
  std::string secret = j["Secret"].get<std::string>();
  if (user == "<token>") {
    c.identity_token = std::move(secret);
  } else {
    c.username = std::move(user);
    c.password = std::move(secret);
  }
  if (c.username.empty() && c.password.empty() && c.identity_token.empty()) return std::nullopt;
  return c;
}

DockerConfig::DockerConfig(std::filesystem::path config_dir) : file_(config_dir / "config.json") {
  std::ifstream in(file_, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec)) return;  // no config: anonymous
    throw Error(ErrorKind::BadInput, "cannot read " + file_.string());
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      throw Error(ErrorKind::BadInput, file_.string() + " is larger than 4 MiB");
    }
  }
  load(text);
}

DockerConfig::DockerConfig(std::string_view json_text, std::filesystem::path file)
    : file_(std::move(file)) {
  load(json_text);
}

void DockerConfig::load(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's own message quotes the text near the error: it could be a
    // password, so report only the position.
    throw Error(ErrorKind::BadInput,
                "malformed JSON in " + file_.string() + " at " + position_of(text, e.byte));
  }
  if (!j.is_object()) throw Error(ErrorKind::BadInput, file_.string() + ": not a JSON object");
  if (j.contains("auths")) {
    if (!j["auths"].is_object()) {
      throw Error(ErrorKind::BadInput, file_.string() + ": \"auths\" is not an object");
    }
    for (const auto& [key, entry] : j["auths"].items()) {
      if (!entry.is_object()) {
        throw Error(ErrorKind::BadInput,
                    file_.string() + ": auths entry \"" + key + "\" is not an object");
      }
      for (const char* field : {"auth", "username", "password", "identitytoken"}) {
        if (entry.contains(field) && !entry[field].is_string() && !entry[field].is_null()) {
          throw Error(ErrorKind::BadInput, file_.string() + ": auths entry \"" + key +
                                               "\" field \"" + field + "\" is not a string");
        }
      }
    }
    auths_ = j["auths"];
  }
  if (j.contains("credHelpers")) {
    if (!j["credHelpers"].is_object()) {
      throw Error(ErrorKind::BadInput, file_.string() + ": \"credHelpers\" is not an object");
    }
    for (const auto& [key, name] : j["credHelpers"].items()) {
      if (!name.is_string()) {
        throw Error(ErrorKind::BadInput,
                    file_.string() + ": credHelpers entry \"" + key + "\" is not a string");
      }
    }
    cred_helpers_ = j["credHelpers"];
  }
  if (j.contains("credsStore") && !j["credsStore"].is_null()) {
    if (!j["credsStore"].is_string()) {
      throw Error(ErrorKind::BadInput, file_.string() + ": \"credsStore\" is not a string");
    }
    creds_store_ = j["credsStore"].get<std::string>();
  }
}

std::optional<Credentials> DockerConfig::from_auths(std::string_view host) const {
  // Exact keys first (the host itself, then Docker Hub's historical URL),
  // then any key whose host part matches.
  const nlohmann::json* entry = nullptr;
  std::string entry_key;
  for (const std::string& candidate : {std::string(host), credential_server_url(host)}) {
    if (auths_.contains(candidate)) {
      entry = &auths_[candidate];
      entry_key = candidate;
      break;
    }
  }
  if (entry == nullptr) {
    for (const auto& [key, value] : auths_.items()) {
      if (matches_host(key, host)) {
        entry = &value;
        entry_key = key;
        break;
      }
    }
  }
  if (entry == nullptr) return std::nullopt;
  auto text = [&](const char* field) {
    auto it = entry->find(field);
    return it != entry->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Credentials c;
  if (std::string auth = text("auth"); !auth.empty()) {
    std::optional<std::string> decoded = base64_decode(auth);
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos) {
      throw Error(ErrorKind::BadInput,
                  file_.string() + ": auths entry \"" + entry_key +
                      "\" has an \"auth\" that is not base64 of user:password");
    }
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  } else {
    c.username = text("username");
    c.password = text("password");
  }
  c.identity_token = text("identitytoken");
  if (c.username.empty() && c.password.empty() && c.identity_token.empty()) return std::nullopt;
  return c;
}

std::optional<Credentials> DockerConfig::lookup(std::string_view host) const {
  for (const auto& [key, name] : cred_helpers_.items()) {
    if (key == host || matches_host(key, host)) {
      return run_credential_helper(name.get<std::string>(), credential_server_url(host));
    }
  }
  if (std::optional<Credentials> c = from_auths(host)) return c;
  if (!creds_store_.empty())
    return run_credential_helper(creds_store_, credential_server_url(host));
  return std::nullopt;
}

}  // namespace envbuild::registry
