#include "registry/http_retry.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "registry/curl_library.hpp"

namespace envbuild::registry {

bool is_retryable_status(long status) { return status == 408 || status == 429 || status >= 500; }

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 64) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    // More than 9 digits is far beyond the cap; avoid overflow.
    if (value.size() > 9) return kMaxRetryAfter;
    std::chrono::milliseconds wait = std::chrono::seconds(std::stol(std::string(value)));
    return std::min(wait, kMaxRetryAfter);
  }
  // An HTTP-date must start with a day name; curl_getdate is lenient about
  // the rest but also accepts bare numbers and words we don't want.
  if (!std::isalpha(static_cast<unsigned char>(value.front()))) return std::nullopt;
  time_t when = curl_library().getdate(std::string(value).c_str(), nullptr);
  if (when == static_cast<time_t>(-1)) return std::nullopt;
  auto target = std::chrono::system_clock::from_time_t(when);
  if (target <= now) return std::chrono::milliseconds(0);
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(target - now);
  return std::min(wait, kMaxRetryAfter);
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::mt19937_64& random) {
  if (attempt < 1) attempt = 1;
  int64_t delay = std::max<int64_t>(base.count(), 1);
  for (int i = 1; i < attempt && delay < kMaxBackoff.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, kMaxBackoff.count());
  std::uniform_int_distribution<int64_t> pick(delay / 2, delay);
  return std::chrono::milliseconds(pick(random));
}

}  // namespace envbuild::registry
