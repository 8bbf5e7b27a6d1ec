#include "builder/build_log.hpp"

#include <time.h>

#include <cstdio>

namespace envbuild::builder {

void BuildLog::line(const std::string& text) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  ::gmtime_r(&ts.tv_sec, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ts.tv_nsec / 1000000));
  std::lock_guard lock(mutex_);
  text_ += stamp;
  text_ += text;
  text_ += '\n';
}

std::string BuildLog::text() const {
  std::lock_guard lock(mutex_);
  return text_;
}

}  // namespace envbuild::builder
