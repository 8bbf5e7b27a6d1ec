#include "registry/token_cache.hpp"

namespace envbuild::registry {

std::optional<std::string> TokenCache::get(const std::string& scope, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(scope);
  if (it == entries_.end() || now >= it->second.valid_until) return std::nullopt;
  return it->second.token;
}

void TokenCache::put(const std::string& scope, std::string token, std::chrono::seconds expires_in,
                     Clock::time_point now) {
  // Short-lived tokens keep at least half their life rather than none.
  std::chrono::seconds margin = std::min(kSafetyMargin, expires_in / 2);
  std::lock_guard lock(mutex_);
  entries_[scope] = Entry{std::move(token), now + expires_in - margin};
}

void TokenCache::erase(const std::string& scope) {
  std::lock_guard lock(mutex_);
  entries_.erase(scope);
}

}  // namespace envbuild::registry
