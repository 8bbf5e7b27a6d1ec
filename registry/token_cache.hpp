#pragma once
// Bearer tokens per scope set, kept until shortly before they expire. One
// cache per RegistryStore; safe to use from several threads.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace envbuild::registry {

class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;

  // A token is dropped this long before its stated expiry, so a request
  // never leaves with a token that dies in flight.
  static constexpr std::chrono::seconds kSafetyMargin{10};

  std::optional<std::string> get(const std::string& scope,
                                 Clock::time_point now = Clock::now()) const;
  void put(const std::string& scope, std::string token, std::chrono::seconds expires_in,
           Clock::time_point now = Clock::now());
  void erase(const std::string& scope);

 private:
  struct Entry {
    std::string token;
    Clock::time_point valid_until;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace envbuild::registry
