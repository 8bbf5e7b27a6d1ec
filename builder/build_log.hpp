#pragma once
// The log of one build: timestamped lines of what was resolved, reused and
// written. Kept in the store next to the image (build_log_store.hpp) and
// written to --log FILE, as Azure ML users read 20_image_build_log.txt.
#include <mutex>
#include <string>

namespace envbuild::builder {

class BuildLog {
 public:
  // Thread-safe; each line gets a UTC timestamp.
  void line(const std::string& text);
  std::string text() const;

 private:
  mutable std::mutex mutex_;
  std::string text_;
};

}  // namespace envbuild::builder
