#pragma once
// Retry policy for registry requests: which failures are worth another try,
// how long to wait (exponential backoff with jitter, or the server's
// Retry-After), all as pure functions so they can be unit-tested.
#include <chrono>
#include <optional>
#include <random>
#include <string_view>

namespace envbuild::registry {

// Longest wait we accept from a Retry-After header, and the backoff cap.
inline constexpr std::chrono::milliseconds kMaxRetryAfter{60'000};
inline constexpr std::chrono::milliseconds kMaxBackoff{30'000};

// 408, 429 and 5xx: the server may answer differently next time. Other
// 4xx are the client's fault and final.
bool is_retryable_status(long status);

// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now`). A date in the past
// gives 0. The result is capped at kMaxRetryAfter. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// The wait before retry number `attempt` (1 = first retry): a uniformly
// random point in [d/2, d] where d = base * 2^(attempt-1) capped at
// kMaxBackoff ("equal jitter", so concurrent clients spread out but never
// retry instantly).
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::mt19937_64& random);

}  // namespace envbuild::registry
